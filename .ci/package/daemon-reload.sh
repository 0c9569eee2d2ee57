#!/bin/sh
# After installing or removing the package: let systemd see the units. The
# timer is not enabled here: the config and its secrets need editing first
# (see README.md, "Install").
if [ -d /run/systemd/system ]; then
	systemctl daemon-reload >/dev/null 2>&1 || true
fi
