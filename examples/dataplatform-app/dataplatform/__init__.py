"""Code shared by the API, the migrations, the worker and the dashboard."""
