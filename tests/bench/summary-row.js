// One row of the `make bench` summary (tests/bench/summary.sh): when
// OTA_BENCH_SUMMARY names a file, a benchmark appends
//   section <TAB> figure <TAB> what it is compared with <TAB> that figure <TAB> this design's figure
// Benchmarks still print their own full tables; the summary gathers the
// figures issue 15 asks for in one place at the end of `make bench`.
'use strict';
const fs = require('fs');
module.exports = function summaryRow(section, figure, peerLabel, peer, now) {
  const f = process.env.OTA_BENCH_SUMMARY;
  if (!f) return;
  const clean = (s) => String(s).replace(/[\t\n]/g, ' ');
  fs.appendFileSync(f, [section, figure, peerLabel, peer, now].map(clean).join('\t') + '\n');
};
