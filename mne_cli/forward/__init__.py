"""Forward modelling: sensors, conductor models and the gain-matrix computation (SPEC 9, 11)."""
