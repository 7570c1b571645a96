#!/usr/bin/env bash
# Builds the tiny test image offline (no registry here): Debian's static
# busybox and its applet links, imported as a root filesystem. Only when absent.
set -euo pipefail
image=${1:-omcp-test-busybox:latest}
docker image inspect "$image" >/dev/null 2>&1 && exit 0
busybox=$(command -v busybox || true)
[ -x /bin/busybox ] && busybox=/bin/busybox
if [ -z "$busybox" ] || ! file -L "$busybox" 2>/dev/null | grep -q 'statically linked'; then
    [ -n "$busybox" ] && ldd "$busybox" 2>&1 | grep -q 'not a dynamic' ||
        { echo "docker_image: no static busybox (apt-get install busybox-static)" >&2; exit 1; }
fi
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/bin" "$root/tmp" "$root/etc"
chmod 1777 "$root/tmp" # the tmpfs at /tmp takes this mode from the image
cp "$busybox" "$root/bin/busybox"
for applet in $("$busybox" --list); do
    [ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
done
echo 'root:x:0:0:root:/:/bin/sh' >"$root/etc/passwd"
echo 'sandboxuser:x:1000:1000::/sandbox:/bin/sh' >>"$root/etc/passwd"
tar -C "$root" -c . | docker import --change 'LABEL org.omcp.test=busybox' \
    --change 'CMD ["sh"]' - "$image" >/dev/null
echo "docker_image: built $image"
