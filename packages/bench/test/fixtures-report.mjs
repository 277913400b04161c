// A fixed bench report (no measurement) for the writer tests.
export const side = (throughput, extra = {}) => ({
  throughput,
  faultsPerSec: throughput,
  p50Ns: 21000,
  p99Ns: 80000,
  resolverCalls: null,
  rssDeltaKb: 8192,
  cpuNsPerPage: 20000,
  rounds: [throughput * 0.9, throughput, throughput * 1.1],
  ...extra,
});

export const environment = {
  date: '2026-01-02T03:04:05.000Z',
  kernel: 'Linux 6.18.0',
  node: 'v20.20.2',
  cpus: 2,
  cpuModel: 'Test CPU',
  quick: true,
  rounds: 3,
  repeat: 1,
  regionBytes: 8 << 20,
  placement: { pinnedCpu: null, cpusAllowed: '0-1' },
  handler: {},
  wakeProbe: { before: { sleepRoundTripNs: 60000, spinRoundTripNs: 1000 }, after: { sleepRoundTripNs: 50000, spinRoundTripNs: 900 } },
  rssNote: 'rssDeltaKb: RSS growth of the handling process over one round',
};

const none = { limit: null, limitRatio: null, readaheadBaseline: null, readaheadRatio: null };

export const report = {
  environment,
  scenarios: [
    {
      name: 'seq-1t-pattern', group: 'single-page faults', description: 'd', unit: 'pages/s', pages: 2048,
      faultline: side(1234567, { resolverCalls: 2048, cpuNsPerPage: 30000 }), baseline: side(2469134), ratio: 0.5,
      limit: side(1000000, { p50Ns: 9000, cpuNsPerPage: 45000 }), limitRatio: 1.234567, readaheadBaseline: null, readaheadRatio: null,
      targets: [
        { text: '>= 1.0x baseline', minRatio: 1, met: false },
        { text: '>= 0.9x limit at <= its cpu/pg', reference: 'limit', minRatio: 0.9, cpuNotAbove: true, met: true },
      ],
    },
    {
      name: 'seq<&>"odd"', group: 'readahead', description: 'd', unit: 'pages/s', pages: 2048,
      faultline: side(45678), baseline: side(45678), ratio: 1,
      limit: side(40000), limitRatio: 45678 / 40000, readaheadBaseline: side(91356), readaheadRatio: 0.5,
      targets: [{ text: '>= 0.8x ra16 ref', reference: 'readaheadBaseline', minRatio: 0.8, met: false }],
    },
    {
      name: 'ring-1p', group: 'ring alone', description: 'd', unit: 'msgs/s', pages: 1 << 18,
      faultline: side(7.5e6, { p50Ns: null, p99Ns: null, rssDeltaKb: null }), baseline: null, ratio: null, ...none,
      targets: [{ text: '>= 5M msgs/s', minThroughput: 5e6, met: true }],
    },
  ],
};
