# Helpers for the peer scripts in this directory (sourced, not run).
#
# Every server these scripts start runs in a session (and so a process group)
# of its own, whose leader's pid is in a pid file.  Stopping it means
# signalling that group, so no worker of it is left behind.

# running_pid PIDFILE: print the pid in PIDFILE and succeed if that process
# is alive; fail otherwise (no file, garbage, or a dead process).
running_pid() {
  local pid
  [[ -r $1 ]] || return 1
  pid=$(<"$1")
  [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
  echo "$pid"
}

# wait_until SECONDS COMMAND...: run COMMAND every 0.5 s until it succeeds;
# fail if it has not succeeded after SECONDS.
wait_until() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@"; do
    ((SECONDS < deadline)) || return 1
    sleep 0.5
  done
}

# signal_group PID SIGNAL: signal PID's whole process group if PID leads it
# (as setsid made it), else PID alone.
signal_group() {
  local pgid
  pgid=$(ps -o pgid= -p "$1" 2>/dev/null | tr -d ' ')
  if [[ $pgid == "$1" ]]; then
    kill "-$2" -- "-$1" 2>/dev/null
  else
    kill "-$2" "$1" 2>/dev/null
  fi
}

# group_alive PID: does any process of the group PID leads still exist?
group_alive() {
  pgrep -g "$1" >/dev/null 2>&1 || kill -0 "$1" 2>/dev/null
}

# stop_pidfile PIDFILE NAME: stop the server of PIDFILE: SIGTERM to its
# group, up to 60 s for it to exit (MariaDB flushes on the way out), then
# SIGKILL.  Removes PIDFILE.  Quiet and successful if nothing runs.
stop_pidfile() {
  local pid
  if pid=$(running_pid "$1"); then
    signal_group "$pid" TERM
    if ! wait_until 60 eval "! group_alive $pid"; then
      echo "$2 (pid $pid) did not stop on SIGTERM; killing it" >&2
      signal_group "$pid" KILL
      wait_until 10 eval "! group_alive $pid"
    fi
    echo "stopped $2 (pid $pid)"
  fi
  rm -f "$1"
}

# log_tail FILE: the last lines of a log, for an error message.
log_tail() {
  echo "--- last lines of $1:" >&2
  tail -n 25 "$1" >&2 2>/dev/null || true
}

# start_uwsgi ROOT VENV NAME URL SECONDS: start uWSGI with ROOT/uwsgi.ini in
# a session of its own (logging to ROOT/log/uwsgi.log) and wait until the
# caller's `answers` function succeeds; on timeout print why, stop it and fail.
start_uwsgi() {
  local root=$1 venv=$2 name=$3 url=$4 seconds=$5 uwsgi_pid
  rm -f "$root/uwsgi.pid"
  setsid "$venv/bin/uwsgi" --ini "$root/uwsgi.ini" --home "$venv" \
    >>"$root/log/uwsgi.log" 2>&1 </dev/null &
  uwsgi_pid=$!
  if ! wait_until "$seconds" eval "kill -0 $uwsgi_pid 2>/dev/null && answers"; then
    echo "$name did not answer on $url" >&2; log_tail "$root/log/uwsgi.log"
    kill -TERM -- "-$uwsgi_pid" 2>/dev/null || true
    return 1
  fi
}
