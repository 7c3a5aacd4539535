"""Speed cases for csat. Each `bench_<topic>.py` has a `main()` that prints its ratio against a baseline."""
