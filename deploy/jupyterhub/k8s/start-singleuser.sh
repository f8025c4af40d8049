#!/bin/sh
# The entry point of the course's image: each user's pod runs with a uid and gid of its own
# (values.yaml: 10000 + the user's JupyterHub id), which no account of the image has. nbgrader
# asks the account's name and, when it is "jovyan", takes the student's name from
# JUPYTERHUB_USER; so this pod's uid is given the name jovyan through nss_wrapper (a passwd and a
# group file of the pod's own, in /tmp), and then the command runs.
set -eu
uid=$(id -u)
gid=$(id -g)
if [ "$(getent passwd "$uid" | cut -d: -f1)" != jovyan ]; then
    dir=$(mktemp -d /tmp/course-nss.XXXXXX)
    grep -v '^jovyan:' /etc/passwd > "$dir/passwd"
    echo "jovyan:x:$uid:$gid:course student:${HOME:-/home/jovyan}:/bin/bash" >> "$dir/passwd"
    cp /etc/group "$dir/group"
    getent group "$gid" > /dev/null || echo "jovyan:x:$gid:" >> "$dir/group"
    export LD_PRELOAD=libnss_wrapper.so NSS_WRAPPER_PASSWD="$dir/passwd" NSS_WRAPPER_GROUP="$dir/group"
fi
exec "$@"
