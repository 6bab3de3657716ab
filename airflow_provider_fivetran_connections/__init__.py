"""The distribution's name as an importable module, for Airflow's example-DAG discovery.

With ``[core] load_examples = True``, Airflow 3.3 imports, for each installed provider, the module
named like the distribution (``airflow-provider-fivetran-connections`` becomes
``airflow_provider_fivetran_connections``) and looks for an ``example_dags`` folder beside it;
without this module it logs "Could not load provider module ... for example DAG discovery" with a
traceback at every start. This provider ships no example DAGs in the package (they are in the
repository's ``example_dags/``), so there is nothing here: the code is in ``fivetran_provider``.
"""
