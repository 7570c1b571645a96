#!/usr/bin/env bash
# Runs test_wsmount in a directory of its own and, however it ends, leaves
# no mount, loop device or image behind: whatever is still mounted beneath
# the directory is unmounted (the loop devices free themselves then).
# Usage: wsmount.sh TEST_WSMOUNT
set -uo pipefail
bin=$1

[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root (loop devices, mount)"; exit 77; }
[ -w /dev/loop-control ] || { echo "SKIP: no /dev/loop-control"; exit 77; }
work=$(mktemp -d /var/tmp/omcp-wsmount-test-XXXXXX)

cleanup() {
    findmnt -rn -o TARGET | grep "^$work/" | sort -r | while read -r m; do umount -l "$m"; done
    rm -rf --one-file-system "$work"
}
trap cleanup EXIT

"$bin" "$work"
status=$?

mounts=$(findmnt -rn -o TARGET | grep -c "^$work/")
loops=$(losetup -a | grep -c "$work/")
if [ "$mounts" -ne 0 ] || [ "$loops" -ne 0 ]; then
    echo "FAIL: $mounts mounts and $loops loop devices left behind"
    status=1
fi
exit $status
