"""One module per benchmark of the evaluation suite; each defines the `Benchmark` registered in
`divlab.evalsuite.benchmark.BENCHMARKS`."""
