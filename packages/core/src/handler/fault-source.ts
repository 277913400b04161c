/**
 * How the workers get the faults of the served uffds: the one choice
 * FaultHandlerOptions.directPoll makes. Both kinds keep the same promises:
 * every fault read is handed to exactly one worker, a uffd's messages are
 * dispatched in the order the kernel gave them (events before later faults),
 * and wake() makes every waiting serve loop look around.
 *
 * - DirectSource (default): the workers read the uffds themselves, one leader
 *   at a time (native serve/fault_waiter.cc). With the own uffd alone and no
 *   events it is a blocking fd the leader sleeps on in read(2), woken for
 *   control by a doorbell; otherwise every served uffd is non-blocking and in
 *   an epoll set the leader sleeps on.
 * - ReaderSource: the native reader thread reads every uffd and publishes to
 *   the ring; workers take records from it (two hops per fault; kept to
 *   compare with, docs/performance.md).
 */
import native from '@faultline/native';
import { closeQuietly } from '../fds.js';
import type { FaultRing } from '../ring/ring.js';
import { MODE_EPOLL, MODE_READ, type ControlBlock } from '../shared/control-block.js';
import type { UffdTable } from '../shared/uffd-table.js';
import type { WaiterSetup } from '../worker/protocol.js';

export interface FaultSource {
  /** What serve loops need to read the uffds themselves; null: they take ring records. */
  readonly waiter: WaiterSetup | null;
  /** The reader thread, when it is the path. */
  readonly reader: native.Reader | null;
  /** Starts serving another uffd (a peer's, already in the uffd table as `uffdId`). */
  add(fd: number, uffdId: number): void;
  /** Stops watching a uffd (before it is closed). */
  remove(fd: number, uffdId: number): void;
  /** Makes every waiting serve loop look around (after control.bumpSeq() or control.close()). */
  wake(): void;
  /** Stops what reads the uffds (the workers have stopped). */
  stop(): void;
  /** Releases what is left; call after every uffd is closed. */
  close(): void;
}

export class DirectSource implements FaultSource {
  readonly waiter: WaiterSetup;
  readonly reader = null;
  private readonly set: { epollFd: number; kickFd: number };
  /** Present when the own uffd may be read with a blocking read(2) (MODE_READ). */
  private readonly doorbell: native.Doorbell | null;
  private peers = 0;

  /**
   * `events`: the own uffd negotiated event features (they can bring fork
   * children, so it is served in MODE_EPOLL from the start). Call before any
   * range is registered on the own uffd.
   */
  constructor(
    private readonly ownFd: number,
    private readonly ownUffdId: number,
    private readonly control: ControlBlock,
    events: boolean,
    pageSize: number,
  ) {
    this.set = native.serveSetCreate();
    let doorbell: native.Doorbell | null = null;
    try {
      if (!events) {
        native.setBlocking(ownFd, true);
        // Spinning in MODE_READ needs preadv2(RWF_NOWAIT) on a blocking uffd (Linux 6.9+).
        if (native.readNoWaitSupported(ownFd)) {
          doorbell = new native.Doorbell();
          native.uffdRegister(ownFd, doorbell.address, pageSize, native.constants.UFFDIO_REGISTER_MODE_MISSING);
        } else {
          native.setBlocking(ownFd, false);
        }
      }
    } catch (err) {
      doorbell?.stop();
      closeQuietly(this.set.epollFd);
      closeQuietly(this.set.kickFd);
      throw err;
    }
    this.doorbell = doorbell;
    this.waiter = { ownUffdId, epollFd: this.set.epollFd, kickFd: this.set.kickFd, doorbell: doorbell?.address ?? 0 };
    if (doorbell) {
      control.setMode(MODE_READ);
    } else {
      native.serveSetAdd(this.set.epollFd, ownFd, ownUffdId);
      control.setMode(MODE_EPOLL);
    }
  }

  add(fd: number, uffdId: number): void {
    native.setBlocking(fd, false);
    native.serveSetAdd(this.set.epollFd, fd, uffdId);
    this.peers++;
    if (this.control.mode() === MODE_READ) {
      // Several uffds: the leader must wait on all of them.
      native.setBlocking(this.ownFd, false);
      native.serveSetAdd(this.set.epollFd, this.ownFd, this.ownUffdId);
      this.control.setMode(MODE_EPOLL);
      this.wakeLeader();
    }
  }

  remove(fd: number, _uffdId: number): void {
    native.serveSetRemove(this.set.epollFd, fd);
    if (--this.peers === 0 && this.doorbell !== null) {
      // The own uffd alone again: back to a blocking read(2).
      native.serveSetRemove(this.set.epollFd, this.ownFd);
      native.setBlocking(this.ownFd, true);
      this.control.setMode(MODE_READ);
      native.serveSetKick(this.set.kickFd);
    }
  }

  wake(): void {
    this.control.wakeFollowers();
    this.wakeLeader();
  }

  /**
   * A leader asleep in read(2) needs a fault to wake: the doorbell; one in
   * epoll_wait, the kick. The leader announces itself parked before it
   * re-checks and sleeps, so either it sees what changed or we see it parked.
   */
  private wakeLeader(): void {
    if (!this.control.leaderParked()) return;
    // A leader still in read(2) after a switch to MODE_EPOLL needs the doorbell too.
    if (this.doorbell) this.doorbell.ring();
    if (this.control.mode() === MODE_EPOLL) native.serveSetKick(this.set.kickFd);
  }

  stop(): void {
    // Nothing of ours reads the uffds but the workers, which have stopped.
  }

  close(): void {
    // After the uffd is closed: a ring nobody answered has returned by now.
    this.doorbell?.stop();
    closeQuietly(this.set.epollFd);
    closeQuietly(this.set.kickFd);
  }
}

export class ReaderSource implements FaultSource {
  readonly waiter = null;
  readonly reader: native.Reader;

  constructor(
    private readonly ring: FaultRing,
    uffds: UffdTable,
    ownFd: number,
    ownUffdId: number,
  ) {
    this.reader = new native.Reader(ring.i32, uffds.fds);
    this.reader.add(ownFd, ownUffdId);
  }

  add(fd: number, uffdId: number): void {
    this.reader.add(fd, uffdId);
  }

  remove(_fd: number, uffdId: number): void {
    this.reader.remove(uffdId);
  }

  wake(): void {
    this.ring.wakeAll();
  }

  stop(): void {
    this.reader.stop();
  }

  close(): void {
    this.reader.stop();
  }
}
