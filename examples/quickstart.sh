#!/usr/bin/env bash
# A first real fleet on the default database (~/.local/share/cafleet/cafleet.store.db, or
# $CAFLEET_DATABASE_URL): a Director in its own tmux pane, two agents, and the message
# lifecycle (send, broadcast, poll, reply, ack), printed as a transcript you can replay.
# The tmux server it starts (socket "cafleet-quickstart") stays up so you can look at it.
set -euo pipefail

SOCKET=${CAFLEET_QUICKSTART_SOCKET:-cafleet-quickstart}
SESSION=quickstart

if ! command -v tmux >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "# installing tmux (cafleet places agents in tmux panes)"
    apt-get update -qq >/dev/null && apt-get install -y -qq tmux >/dev/null
  else
    echo "Error: tmux is not installed; install it (e.g. sudo apt-get install tmux) and run again" >&2
    exit 1
  fi
fi
command -v cafleet >/dev/null 2>&1 || { echo "Error: cafleet is not installed; run: pip install -e ." >&2; exit 1; }

show() {  # print a command as a transcript line, quoting arguments that hold spaces
  local line="$" arg
  for arg in "$@"; do
    if [[ $arg =~ [[:space:]] ]]; then line+=" '$arg'"; else line+=" $arg"; fi
  done
  printf '\n%s\n' "$line"
}
run() { show "$@"; "$@"; }

tmux -L "$SOCKET" kill-server 2>/dev/null || true
tmux -L "$SOCKET" -f /dev/null new-session -d -s "$SESSION" -x 160 -y 40 "bash --norc --noprofile"

# The Director creates the fleet from inside its own pane, exactly as a coding agent would.
created=$(mktemp)
trap 'rm -f "$created"' EXIT
tmux -L "$SOCKET" send-keys -t "$SESSION" -l -- \
  "cafleet fleet create --label quickstart > $created 2>&1; tmux wait-for -S cafleet-created"
tmux -L "$SOCKET" send-keys -t "$SESSION" Enter
timeout 20 tmux -L "$SOCKET" wait-for cafleet-created
if ! head -1 "$created" | grep -qE '^[0-9]+$'; then
  cat "$created" >&2
  exit 1
fi
FLEET=$(sed -n 1p "$created")
DIRECTOR=$(sed -n 2p "$created")
printf '$ cafleet fleet create --label quickstart      # typed in the Director pane\n'
cat "$created"

c() { cafleet --fleet-id "$FLEET" "$@"; }

show cafleet --fleet-id "$FLEET" agent register --name planner --description "Breaks work into steps"
PLANNER=$(c agent register --name planner --description "Breaks work into steps")
echo "$PLANNER"
show cafleet --fleet-id "$FLEET" agent register --name reviewer --description "Reviews every change"
REVIEWER=$(c agent register --name reviewer --description "Reviews every change")
echo "$REVIEWER"

run cafleet --fleet-id "$FLEET" agent list --agent-id "$DIRECTOR"
run cafleet --fleet-id "$FLEET" message send --agent-id "$DIRECTOR" --to planner \
  --text "Plan the parser refactor in three steps, then ask reviewer to check it."
run cafleet --fleet-id "$FLEET" message broadcast --agent-id "$DIRECTOR" --text "Standup at 10:00: post blockers."
run cafleet --fleet-id "$FLEET" message poll --agent-id "$PLANNER"

QUESTION=$(c --json message poll --agent-id "$PLANNER" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["task_id"])')
run cafleet --fleet-id "$FLEET" message send --agent-id "$PLANNER" --to "$DIRECTOR" --reply-to "$QUESTION" \
  --text "1) split tokenizer 2) typed AST 3) error recovery. Asking reviewer now."
run cafleet --fleet-id "$FLEET" message ack --agent-id "$PLANNER" --task-id "$QUESTION"
run cafleet --fleet-id "$FLEET" message poll --agent-id "$DIRECTOR"
run cafleet --fleet-id "$FLEET" message poll --agent-id "$REVIEWER" --all
run cafleet fleet show "$FLEET"

cat <<MSG

Fleet $FLEET is live in the database shown by \`cafleet doctor\`. Look around:
  cafleet fleet list
  cafleet --fleet-id $FLEET message poll --agent-id $DIRECTOR --all
  tmux -L $SOCKET attach -t $SESSION        # the Director's pane (detach: Ctrl-b d)
Clean up:
  cafleet fleet delete $FLEET && tmux -L $SOCKET kill-server
MSG
