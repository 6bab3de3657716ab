"""The DAG-authoring names a DAG file needs, from the right place on every supported Airflow.

On Airflow 3 they come from ``airflow.sdk``; on Airflow 2.11 from their older homes
(``airflow.models.dag``, ``airflow.models.param``, ``airflow.decorators``). A DAG that must
run on both imports them from here::

    from fivetran_provider.sdk import DAG, Param, task

On Airflow 3 only, ``from airflow.sdk import DAG, Param, task`` is the same thing.
"""

from __future__ import annotations

from fivetran_provider._compat import DAG, Param, task

__all__ = ["DAG", "Param", "task"]
