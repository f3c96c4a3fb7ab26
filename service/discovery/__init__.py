"""Models a provider offers beyond the configured candidates, and models that went away.

`factorwatch discover --provider P` and GET /api/v1/providers/{p}/models list the models the
provider's key can call (probes/models), each priced from the price lists and marked when it
is already a candidate, as candidate config ready to paste (`run.py`, `report.py`). The
lease holder keeps the last model list of each provider and the candidates' price-list
entries in the store, and saves a `model_retired` event when a candidate's model leaves
either (`listings.py`; the jobs are in service/watch).
"""
