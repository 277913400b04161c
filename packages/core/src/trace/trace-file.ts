/**
 * The trace file (docs/trace.md): the recorded working sets of one or more
 * regions, and optionally their pages' bytes, stored contiguously in
 * first-touch order so a restore reads them with one sequential read (the
 * working-set file of REAP). Little-endian throughout:
 *
 *   header   32 bytes   "FLTRACE\0", u32 version (1), u32 region count,
 *                       u32 flags (bit 0: page data present), u32 0, u64 0
 *   regions  48 bytes each: f64 size, f64 offset, f64 data offset (bytes from
 *                       the start of the file; 0 without data), u32 page size,
 *                       u32 page count, u32 complete (0/1), u32 0, u64 0
 *   index    per region: u32 page indexes[count], then u32 times (µs)[count]
 *   data     per region, starting 4096-aligned: count * page size bytes, in
 *                       index order
 */
import { open, type FileHandle } from 'node:fs/promises';
import { FaultlineError, invalidArgument } from '../errors.js';
import type { PrefetchPlan, Trace } from './plan.js';

const MAGIC = 'FLTRACE\0';
const VERSION = 1;
const HEADER_BYTES = 32;
const REGION_BYTES = 48;
const FLAG_DATA = 1;
const DATA_ALIGN = 4096;
/** Bytes read from the memory file per pread while writing page data. */
const COPY_CHUNK = 4 << 20;

/** A region as readTrace() returns it: a Trace, and a PrefetchPlan with `data` when the file holds the pages. */
export type TraceRegion = Trace & PrefetchPlan;

export interface TraceFile {
  version: number;
  regions: TraceRegion[];
}

export interface WriteTraceOptions {
  /**
   * Store the pages' bytes too, read from this file at `offset + page *
   * pageSize` (the snapshot's memory file): a restore then reads them with
   * one sequential read instead of one resolver call per page.
   */
  memFile?: string;
}

/** Writes `traces` (region.trace(), adopted.traces()) to `path`. */
export async function writeTrace(path: string, traces: readonly Trace[], options: WriteTraceOptions = {}): Promise<void> {
  if (!Array.isArray(traces) || traces.length === 0) {
    throw invalidArgument('writeTrace(path, traces) needs a non-empty array of traces (region.trace(), adopted.traces())');
  }
  for (const [i, t] of traces.entries()) {
    if (!(t?.pages instanceof Uint32Array) || !(t.timesUs instanceof Uint32Array) || t.timesUs.length !== t.pages.length) {
      throw invalidArgument(`traces[${i}] is not a trace (pages and timesUs: Uint32Arrays of the same length)`);
    }
  }
  const withData = options.memFile !== undefined;
  const indexBytes = traces.reduce((n, t) => n + t.pages.length * 8, 0);
  const head = Buffer.alloc(HEADER_BYTES + traces.length * REGION_BYTES + indexBytes);
  head.write(MAGIC, 0, 'latin1');
  head.writeUInt32LE(VERSION, 8);
  head.writeUInt32LE(traces.length, 12);
  head.writeUInt32LE(withData ? FLAG_DATA : 0, 16);
  let dataAt = align(head.length, DATA_ALIGN);
  let at = HEADER_BYTES + traces.length * REGION_BYTES;
  traces.forEach((t, i) => {
    const r = HEADER_BYTES + i * REGION_BYTES;
    head.writeDoubleLE(t.size, r);
    head.writeDoubleLE(t.offset, r + 8);
    head.writeDoubleLE(withData ? dataAt : 0, r + 16);
    head.writeUInt32LE(t.pageSize, r + 24);
    head.writeUInt32LE(t.pages.length, r + 28);
    head.writeUInt32LE(t.complete ? 1 : 0, r + 32);
    Buffer.from(t.pages.buffer, t.pages.byteOffset, t.pages.byteLength).copy(head, at);
    at += t.pages.byteLength;
    Buffer.from(t.timesUs.buffer, t.timesUs.byteOffset, t.timesUs.byteLength).copy(head, at);
    at += t.timesUs.byteLength;
    if (withData) dataAt = align(dataAt + t.pages.length * t.pageSize, DATA_ALIGN);
  });
  const out = await open(path, 'w');
  try {
    await out.write(head, 0, head.length, 0);
    if (withData) await writePages(out, options.memFile!, traces, align(head.length, DATA_ALIGN));
  } finally {
    await out.close();
  }
}

/** Copies each region's pages from the memory file, in trace order, coalescing runs of consecutive pages. */
async function writePages(out: FileHandle, memFile: string, traces: readonly Trace[], start: number): Promise<void> {
  const mem = await open(memFile, 'r');
  try {
    const memSize = (await mem.stat()).size;
    let at = start;
    for (const t of traces) {
      const ps = t.pageSize;
      const maxRun = Math.max(1, Math.floor(COPY_CHUNK / ps));
      const buf = Buffer.alloc(maxRun * ps);
      for (let i = 0; i < t.pages.length; ) {
        let n = 1;
        while (i + n < t.pages.length && n < maxRun && t.pages[i + n] === t.pages[i]! + n) n++;
        const from = t.offset + t.pages[i]! * ps;
        if (from + n * ps > memSize) {
          throw new FaultlineError(
            'ERR_FAULTLINE_TRACE_DATA',
            `the trace lists bytes [${from}, ${from + n * ps}) but ${memFile} has ${memSize} bytes: is it this snapshot's memory file?`,
          );
        }
        await readFully(mem, buf, n * ps, from);
        await out.write(buf, 0, n * ps, at);
        at += n * ps;
        i += n;
      }
      at = align(at, DATA_ALIGN);
    }
  } finally {
    await mem.close();
  }
}

async function readFully(fh: FileHandle, buf: Buffer, length: number, position: number): Promise<void> {
  let done = 0;
  while (done < length) {
    const { bytesRead } = await fh.read(buf, done, length - done, position + done);
    if (bytesRead === 0) throw new FaultlineError('ERR_FAULTLINE_TRACE_DATA', `unexpected end of file at byte ${position + done}`);
    done += bytesRead;
  }
}

/** Reads a trace file: each region's working set, with `data` pointing into the file when it holds the pages. */
export async function readTrace(path: string): Promise<TraceFile> {
  const fh = await open(path, 'r');
  try {
    const { size: fileSize } = await fh.stat();
    const header = Buffer.alloc(HEADER_BYTES);
    if (fileSize < HEADER_BYTES) bad(path, `it has ${fileSize} bytes, less than a header`);
    await readFully(fh, header, HEADER_BYTES, 0);
    if (header.toString('latin1', 0, 8) !== MAGIC) bad(path, 'it does not start with FLTRACE (not a Faultline trace file)');
    const version = header.readUInt32LE(8);
    if (version !== VERSION) bad(path, `it is version ${version}; this Faultline reads version ${VERSION}`);
    const count = header.readUInt32LE(12);
    const withData = (header.readUInt32LE(16) & FLAG_DATA) !== 0;
    if (count === 0 || HEADER_BYTES + count * REGION_BYTES > fileSize) bad(path, `its region count (${count}) does not fit the file`);
    const meta = Buffer.alloc(count * REGION_BYTES);
    await readFully(fh, meta, meta.length, HEADER_BYTES);
    let at = HEADER_BYTES + meta.length;
    const regions: TraceRegion[] = [];
    for (let i = 0; i < count; i++) {
      const r = i * REGION_BYTES;
      const size = meta.readDoubleLE(r);
      const offset = meta.readDoubleLE(r + 8);
      const dataAt = meta.readDoubleLE(r + 16);
      const pageSize = meta.readUInt32LE(r + 24);
      const n = meta.readUInt32LE(r + 28);
      if (pageSize === 0 || (pageSize & (pageSize - 1)) !== 0 || at + n * 8 > fileSize) bad(path, `region ${i}'s header is corrupt`);
      if (withData && dataAt + n * pageSize > fileSize) bad(path, `region ${i}'s page data is cut short (file truncated?)`);
      const index = Buffer.alloc(n * 8);
      await readFully(fh, index, index.length, at);
      at += index.length;
      const pages = new Uint32Array(n);
      const timesUs = new Uint32Array(n);
      Buffer.from(pages.buffer).set(index.subarray(0, n * 4));
      Buffer.from(timesUs.buffer).set(index.subarray(n * 4));
      regions.push({
        size,
        offset,
        pageSize,
        pages,
        timesUs,
        complete: meta.readUInt32LE(r + 32) === 1,
        ...(withData ? { data: { path, offset: dataAt } } : {}),
      });
    }
    return { version, regions };
  } finally {
    await fh.close();
  }
}

function bad(path: string, why: string): never {
  throw new FaultlineError('ERR_FAULTLINE_TRACE_FORMAT', `${path} is not a usable trace file: ${why}`);
}

function align(n: number, to: number): number {
  return Math.ceil(n / to) * to;
}
