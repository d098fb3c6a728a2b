"""XGBoost and LightGBM shrinking: the booster backend and keeping the first boosting rounds."""
