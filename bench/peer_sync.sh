#!/bin/sh
# Baseline B: the sync a user would write by hand, for comparison with Memory Vault.
#   peer_sync.sh SOURCE_DIR CLONE_DIR [--tree]
# Copies the memory files into the clone (the top level's *.json; with --tree, the whole
# tree under SOURCE_DIR, as a user backing up several agents' folders would), adds them,
# commits if anything changed, pushes.
set -e
src="$1"
clone="$2"
mkdir -p "$clone/rAgentShared"
if [ "$3" = "--tree" ]; then
  cp -R "$src/." "$clone/rAgentShared/"
else
  for f in "$src"/*.json; do
    [ -e "$f" ] && cp "$f" "$clone/rAgentShared/"
  done
fi
cd "$clone"
git add rAgentShared
if ! git diff --cached --quiet; then
  git commit -q -m "Memory vault sync $(date -u +%Y-%m-%dT%H:%M:%SZ)"
fi
git push -q origin HEAD:main
