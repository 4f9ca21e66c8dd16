#!/bin/sh
# Creates the non-root agent user and the workspace, and checks the Node.js build that both builds
# put into /usr/local just before this runs. Run as root inside the image by the Dockerfile and by
# the offline build (mmdebstrap --customize-hook), so both images match.
set -eu
groupadd --gid 10001 agent
useradd --uid 10001 --gid 10001 --home-dir /home/agent --create-home --shell /bin/bash agent
install -d -o 10001 -g 10001 -m 0755 /workspace
# Fails the build if the binary cannot run on this root filesystem (wrong architecture, missing
# shared library).
node_version=$(/usr/local/bin/node -p process.version)
echo "node $node_version at /usr/local/bin/node"
# npm and npx, unpacked by both builds into /usr/local/lib/node_modules/npm (image-npm.ts), on PATH
# as the official Node.js builds have them. Checked here, with a throwaway home.
ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm
ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx
check_home=$(mktemp -d)
echo "npm $(HOME=$check_home /usr/local/bin/npm --version) and npx $(HOME=$check_home /usr/local/bin/npx --version) in /usr/local/bin"
rm -rf "$check_home"
python3 -m pip --version
