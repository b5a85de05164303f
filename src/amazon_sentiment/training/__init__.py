"""Stage 2: scikit-learn training on the golden sample, tracked and registered in MLflow."""
