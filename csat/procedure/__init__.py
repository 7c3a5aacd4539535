"""The procedure as a whole: where its records show that a step was not taken (csat check)."""
