"""Everything that talks to or decodes the MLflow Prompt Registry.

- ``client``: requests to a registry (paging, timeouts, retries, error mapping); imports mlflow when made.
- ``payload``: what sync and deploy write (a version's template, tags and settings; a prompt's metadata).
- ``stored``: what a registry holds, decoded, and the one answer to "is this version intact?".
  The only part the runtime may import; it imports no mlflow.
"""
