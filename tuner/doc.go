// Package tuner searches for the cheapest way to serve a workload under its SLOs.
//
// It owns:
//
//   - the SLO grammar (ParseSLO, Term): terms METRIC OP VALUE such as p99<=50ms, rps>=200
//     or fidelity>=97%, comma-separated or given one per --slo flag;
//   - verdicts (Verdict, PercentileVerdict, ValueVerdict): pass, fail or inconclusive,
//     decided for a latency percentile at 99% confidence by the order-statistic bound that
//     MLPerf LoadGen uses for early stopping, so a probe ends as soon as its answer is known;
//   - the search space of configs (precision, batching knobs, target) and the strategies
//     that walk it (grid, and smart: fidelity first, service-time profiles, a simulated
//     batcher to predict capacity, verification in order of predicted cost);
//   - the capacity search of one config: the highest arrival rate whose probe passes every
//     SLO, bracketed by a geometric ramp and bisected to within 5%;
//   - cost (Target, LocalTargets, Cost, CostOf): replicas and price per hour and per million
//     requests, from a hardware profile's price;
//   - the typed events of a run that printers, the TUI and the store subscribe to.
//
// Of this module, tuner imports loadgen (to drive a Target and read its probe statistics)
// and profiles (workloads and hardware prices) only; reports and cmd import it, and it
// builds engines only through a factory the command hands it.
package tuner
