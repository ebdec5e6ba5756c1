#!/bin/sh
# Entrypoint of the sandbox's mysql-client image (Debian's MariaDB in the host runtime). Like the official
# MySQL image's, it initialises an empty datadir with the root password from MYSQL_ROOT_PASSWORD (for
# root@localhost and root@'%') and then runs the server in the foreground as the container's process.
# Settings follow the chart's mysql-client-config (utf8mb4_unicode_ci, max_allowed_packet 256M) and keep
# table names case-sensitive (lower_case_table_names=0); durability is traded for speed (a test sandbox).
# The sandbox usually copies in an initialised datadir (release/mysql.ts) so a pod starts in about a second.
set -eu
DATADIR=/var/lib/mysql
set -- --no-defaults --datadir="$DATADIR" --socket=/var/run/mysqld/mysqld.sock --pid-file=/var/run/mysqld/mysqld.pid \
  --skip-networking --skip-name-resolve --lower-case-table-names=0 \
  --character-set-server=utf8mb4 --collation-server=utf8mb4_unicode_ci --max-allowed-packet=256M --max-connections=200 \
  --innodb-buffer-pool-size=16M --innodb-log-file-size=4M --innodb-flush-method=nosync --innodb-doublewrite=0 \
  --innodb-flush-log-at-trx-commit=0 --performance-schema=OFF --skip-log-bin
if [ ! -d "$DATADIR/mysql" ]; then
  echo "Initializing database files"
  mariadb-install-db "$@" --auth-root-authentication-method=normal --skip-test-db >/tmp/install.log 2>&1 || { cat /tmp/install.log >&2; exit 1; }
fi
if [ ! -e "$DATADIR/.root-password-set" ]; then
  if [ -z "${MYSQL_ROOT_PASSWORD:-}" ]; then echo 'error: database is uninitialized and MYSQL_ROOT_PASSWORD is not set' >&2; exit 1; fi
  umask 077
  pw=$(printf '%s' "$MYSQL_ROOT_PASSWORD" | sed -e 's/\\/\\\\/g' -e "s/'/\\\\'/g")
  cat >/tmp/init.sql <<SQL
ALTER USER 'root'@'localhost' IDENTIFIED BY '$pw';
CREATE USER IF NOT EXISTS 'root'@'%' IDENTIFIED BY '$pw';
GRANT ALL PRIVILEGES ON *.* TO 'root'@'%' WITH GRANT OPTION;
FLUSH PRIVILEGES;
SQL
  : >"$DATADIR/.root-password-set"
  exec mariadbd "$@" --init-file=/tmp/init.sql
fi
exec mariadbd "$@"
