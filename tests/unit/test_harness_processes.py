"""tools.harness.servers._group_alive, which the fault tests' "server dead"
time rests on: a killed server counts as gone only when no thread of it is
left, since its listening socket closes with its last thread."""
import os
import platform
import signal
import subprocess
import sys

import testtools

from tools.harness import servers

#: exit(2) of the calling thread alone (exit_group(2) ends them all).
SYS_EXIT = {'x86_64': 60, 'aarch64': 93}.get(platform.machine())

#: A process whose main thread exits while a second thread keeps a socket
#: listening: its main thread is a zombie, the process (and its socket) is
#: not gone.  It prints the port, then "main exiting".
_CHILD = r"""
import ctypes, socket, sys, threading, time
sock = socket.socket()
sock.bind(('127.0.0.1', 0))
sock.listen(8)
print(sock.getsockname()[1], flush=True)
threading.Thread(target=time.sleep, args=(600,)).start()
print('main exiting', flush=True)
ctypes.CDLL(None, use_errno=True).syscall(%d, 0)
"""


class TestGroupAlive(testtools.TestCase):

    def _start(self, source):
        child = subprocess.Popen([sys.executable, '-c', source], stdout=subprocess.PIPE,
                                 start_new_session=True)
        self.addCleanup(child.wait)
        self.addCleanup(self._kill, child.pid)
        return child

    @staticmethod
    def _kill(pgid):
        try:
            os.killpg(pgid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def _main_thread_state(self, pid):
        return servers._proc_stat('/proc/%d/stat' % pid)[0]

    def test_a_process_whose_main_thread_is_a_zombie_is_alive(self):
        if SYS_EXIT is None:
            self.skipTest('no exit(2) number known for %s' % platform.machine())
        child = self._start(_CHILD % SYS_EXIT)
        port = int(child.stdout.readline())
        self.assertEqual(b'main exiting\n', child.stdout.readline())
        servers.wait_for(lambda: self._main_thread_state(child.pid) == 'Z', 10, 0.01,
                         'the main thread a zombie')
        # What a client sees: the socket still takes connections.
        self.assertTrue(servers.tcp_port_open('127.0.0.1', port))
        self.assertTrue(servers._group_alive(child.pid))

        os.killpg(child.pid, signal.SIGKILL)
        servers.wait_for(lambda: not servers._group_alive(child.pid), 10, 0.01,
                         'the group gone')
        # Gone means its files are closed: the port refuses.
        self.assertFalse(servers.tcp_port_open('127.0.0.1', port))

    def test_a_live_process_is_alive_and_a_reaped_one_gone(self):
        child = self._start('import time; print(1, flush=True); time.sleep(600)')
        child.stdout.readline()
        self.assertTrue(servers._group_alive(child.pid))
        os.killpg(child.pid, signal.SIGKILL)
        child.wait()
        self.assertFalse(servers._group_alive(child.pid))

    def test_an_unreaped_zombie_counts_as_gone(self):
        child = self._start('print(1, flush=True)')
        child.stdout.readline()
        servers.wait_for(lambda: self._main_thread_state(child.pid) == 'Z', 10, 0.01,
                         'the child a zombie')
        self.assertFalse(servers._group_alive(child.pid))
