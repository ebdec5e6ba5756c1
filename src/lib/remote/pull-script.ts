// The shell program a stage pod runs to pull objects from presigned URLs. busybox only (sh, wget,
// awk, stat, md5sum, sha256sum, dd, base64), as in the stage image.
//
// stdin (exactly N bytes, N in argv: an exec stream of an old API server cannot close stdin) holds the
// job; nothing secret ever reaches the exec request's argv, the pod spec, env or logs:
//   ca<TAB><base64 PEM>                               optional: trust these CAs (SSL_CERT_FILE)
//   proxy<TAB>https_proxy|http_proxy|no_proxy<TAB>value optional: what busybox wget reads from its env
//   obj<TAB>id<TAB>size<TAB>sha256|-<TAB>md5|-<TAB>parts|-<TAB>partsize|-<TAB>dest<TAB>url
// stdout, one line per event (the CLI turns them into progress):
//   start ID | retry ID REASON | done ID BYTES | fail ID REASON | inflight BYTES
// REASON: http-403 (expired or denied: re-sign or stop), missing (404), slowdown, cut, mismatch,
// unreachable, tls (certificate not trusted), size. Exit 0 when every object is done, 1 otherwise.
//
// busybox wget checks TLS certificates only when it hands TLS to `openssl s_client` (Debian's build) or
// `ssl_client` (Alpine's, against /etc/ssl/cert.pem); SSL_CERT_FILE reaches openssl. Within the pod the
// URL is wget's own argument (busybox wget cannot read it from a file): visible only inside the pod.
// On an HTTP error busybox wget prints the status line only, so Retry-After is out of reach: slow-downs
// back off exponentially (1, 2, 4, 8 s) instead.
export const PULL_SCRIPT = String.raw`set -u
n=$1; par=$2; root=$3
T=$(printf '\t')
job=$(head -c "$n")
work=$(mktemp -d /tmp/tb-pull.XXXXXX) || exit 3
ticker=
cleanup() { [ -n "$ticker" ] && kill "$ticker" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
trap 'exit 130' INT TERM
ca=$(printf '%s\n' "$job" | grep "^ca$T" | cut -f2)
if [ -n "$ca" ]; then printf '%s' "$ca" | base64 -d > "$work/ca.pem" && export SSL_CERT_FILE="$work/ca.pem"; fi
pv() { printf '%s\n' "$job" | grep "^proxy$T$1$T" | cut -f3 | head -n 1; }
p=$(pv https_proxy); [ -n "$p" ] && export https_proxy="$p"
p=$(pv http_proxy); [ -n "$p" ] && export http_proxy="$p"
p=$(pv no_proxy); [ -n "$p" ] && export no_proxy="$p"
# one name per object: a later run (the same table's lock held) resumes a partial download with wget -c
suffix=".tbpart"

etag_multipart() { # FILE PARTSIZE -> md5(md5s)-N
  f=$1; ps=$2; sz=$(stat -c %s "$f"); cnt=$(( (sz + ps - 1) / ps )); d="$work/etag.$$.$RANDOM"; : > "$d"; i=0
  while [ "$i" -lt "$cnt" ]; do
    h=$(dd if="$f" bs="$ps" skip="$i" count=1 2>/dev/null | md5sum); h=${"$"}{h%% *}
    printf "$(printf %s "$h" | sed 's/../\\x&/g')" >> "$d"
    i=$((i + 1))
  done
  e=$(md5sum < "$d"); rm -f "$d"; echo "${"$"}{e%% *}-$cnt"
}

tls_refused() { # URL -> true when openssl (what wget uses) rejects the server's certificate
  command -v openssl >/dev/null 2>&1 || return 1
  hp=${"$"}{1#https://}; hp=${"$"}{hp%%/*}; h=${"$"}{hp%:*}; [ "$h" = "$hp" ] && hp="$hp:443"
  r=$(openssl s_client -connect "$hp" -servername "$h" -verify_hostname "$h" -verify_return_error </dev/null 2>&1)
  case $r in *"Verify return code: 0 "*) return 1 ;; *"verify error"*|*"Verify return code"*) return 0 ;; esac
  return 1
}

pull_one() { # id size sha md5 parts psize dest url
  id=$1; size=$2; sha=$3; md5=$4; parts=$5; psize=$6; dest=$7; url=$8
  out="$root/$dest"; part="$out$suffix"; mkdir -p "${"$"}{out%/*}" || { echo "fail $id mkdir"; return 1; }
  echo "start $id"
  tries=0; fresh=0; wait_s=1
  while :; do
    tries=$((tries + 1))
    have=0; [ -f "$part" ] && have=$(stat -c %s "$part")
    [ "$have" -gt "$size" ] && { rm -f "$part"; have=0; }
    if [ "$have" -lt "$size" ] || [ ! -f "$part" ]; then
      c=; [ "$have" -gt 0 ] && c=-c
      if ! wget -q $c -O "$part" "$url" 2>"$work/err.$id"; then
        err=$(cat "$work/err.$id")
        case $err in
          *" 403 "*) echo "fail $id http-403"; rm -f "$part"; return 1 ;;
          *" 404 "*) echo "fail $id missing"; rm -f "$part"; return 1 ;;
          *" 416 "*) rm -f "$part"; why=size ;;
          *" 503 "*|*" 500 "*|*" 429 "*) why=slowdown ;;
          *"unreachable"*|*"bad address"*|*"can't connect"*) echo "fail $id unreachable"; rm -f "$part"; return 1 ;;
          *) why=cut ;;
        esac
        # busybox wget reports a refused certificate as a reset connection: ask openssl once
        if [ "$why" = cut ] && [ "$tries" = 1 ] && [ ! -s "$part" ]; then
          case $url in https://*) if tls_refused "$url"; then echo "fail $id tls"; rm -f "$part"; return 1; fi ;; esac
        fi
        if [ "$tries" -ge 6 ]; then echo "fail $id $why"; return 1; fi
        echo "retry $id $why"
        [ "$why" = slowdown ] && { sleep "$wait_s"; wait_s=$((wait_s * 2)); }
        continue
      fi
    fi
    got=$(stat -c %s "$part")
    ok=1
    [ "$got" -eq "$size" ] || ok=0
    if [ "$ok" = 1 ] && [ "$sha" != - ]; then h=$(sha256sum "$part"); [ "${"$"}{h%% *}" = "$sha" ] || ok=0; fi
    if [ "$ok" = 1 ] && [ "$md5" != - ]; then h=$(md5sum "$part"); [ "${"$"}{h%% *}" = "$md5" ] || ok=0; fi
    if [ "$ok" = 1 ] && [ "$parts" != - ] && [ "$psize" != - ]; then [ "$(etag_multipart "$part" "$psize")" = "$parts" ] || ok=0; fi
    if [ "$ok" = 1 ]; then mv -f "$part" "$out" && { echo "done $id $got"; return 0; }; echo "fail $id mv"; return 1; fi
    rm -f "$part"
    # one fresh download: a resume may have joined two versions of a changed object
    if [ "$fresh" = 1 ]; then echo "fail $id mismatch"; return 1; fi
    fresh=1; echo "retry $id mismatch"
  done
}

worker() {
  rc=0
  while IFS="$T" read -r kind id size sha md5 parts psize dest url; do
    [ "$kind" = obj ] || continue
    pull_one "$id" "$size" "$sha" "$md5" "$parts" "$psize" "$dest" "$url" || rc=1
  done
  return $rc
}

( while :; do sleep 1; s=$(find "$root" -name "*$suffix" -type f -exec stat -c %s {} + 2>/dev/null | awk '{t+=$1} END {print t+0}'); echo "inflight $s"; done ) &
ticker=$!
pids=; k=0
while [ "$k" -lt "$par" ]; do
  printf '%s\n' "$job" | grep "^obj$T" | awk -v k="$k" -v n="$par" '(NR - 1) % n == k' | worker &
  pids="$pids $!"; k=$((k + 1))
done
status=0
for p in $pids; do wait "$p" || status=1; done
exit $status
`
