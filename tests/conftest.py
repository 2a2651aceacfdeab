import os

# scikit-learn's array-API estimator check needs this set before scipy is imported.
os.environ.setdefault("SCIPY_ARRAY_API", "1")

import matplotlib  # noqa: E402

matplotlib.use("Agg")
