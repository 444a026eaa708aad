#!/bin/sh
# The official Redis image's entry point, as far as Shopmode's compose file relies on it:
# options alone mean `redis-server OPTIONS`, and protected mode is off (the official image
# builds Redis that way) so that other containers on the network may connect. A config file
# given first keeps its own protected-mode setting.
set -e
case "$1" in
    -*) set -- redis-server "$@" ;;
esac
if [ "$1" = redis-server ]; then
    shift
    case "$1" in
        *.conf) ;;
        *) set -- --protected-mode no "$@" ;;
    esac
    set -- redis-server "$@"
fi
exec "$@"
