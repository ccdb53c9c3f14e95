enum e {};
