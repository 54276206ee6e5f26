"""naas.common.memory: the collector paused across threads."""
import gc
import threading

import fixtures
import testtools

from naas.common import memory


class TestPausedGC(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.addCleanup(gc.enable)
        gc.enable()

    def other_thread_in_a_block(self):
        """Another thread inside a paused block, once it is in: returns
        what ends its block (and waits for the thread)."""
        inside, leave = threading.Event(), threading.Event()

        def other():
            with memory.paused_gc():
                inside.set()
                leave.wait(10)
        thread = threading.Thread(target=other)
        thread.start()
        self.addCleanup(thread.join, 10)
        self.addCleanup(leave.set)
        self.assertTrue(inside.wait(10))

        def end():
            leave.set()
            thread.join(10)
        return end

    def test_back_when_the_last_block_of_any_thread_ends(self):
        with memory.paused_gc():
            end_other = self.other_thread_in_a_block()
        # This thread's block is over, the other's is not.
        self.assertFalse(gc.isenabled())
        end_other()
        self.assertTrue(gc.isenabled())

    def test_back_after_max_pause_while_blocks_overlap(self):
        self.useFixture(fixtures.MonkeyPatch('naas.common.memory.MAX_PAUSE', 0.0))
        with memory.paused_gc():
            end_other = self.other_thread_in_a_block()
        self.assertTrue(gc.isenabled())
        end_other()
        self.assertTrue(gc.isenabled())
        with memory.paused_gc():
            self.assertFalse(gc.isenabled())
        self.assertTrue(gc.isenabled())

    def test_stays_off_if_it_was(self):
        gc.disable()
        self.assertEqual(3, memory.without_gc(lambda a, b: a + b, 1, b=2))
        self.assertFalse(gc.isenabled())

    def test_back_after_an_error(self):
        self.assertRaises(ZeroDivisionError, memory.without_gc, lambda: 1 / 0)
        self.assertTrue(gc.isenabled())
