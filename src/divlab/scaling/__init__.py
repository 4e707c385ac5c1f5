"""Scale ladders: the E1 threshold measured at several budgets and model sizes, its fitted law, and
`divlab plan`, which predicts where the threshold of a planned sweep will be."""
