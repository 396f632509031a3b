"""The database cache with an atomic ``incr``, for counters shared by every web process.

Django's ``DatabaseCache.incr`` reads and then writes with the default timeout, so two processes
counting at once can lose a count and a counter loses its expiry. Here the read and the write
happen in one transaction that holds the row (``SELECT ... FOR UPDATE`` where the database has
row locks; SQLite's immediate transactions serialize writers anyway), and the entry keeps its
expiry. Redis, when configured, increments atomically by itself.
"""

from __future__ import annotations

from django.core.cache.backends.db import DatabaseCache as DjangoDatabaseCache
from django.db import connections, models, router, transaction
from django.utils import timezone


class DatabaseCache(DjangoDatabaseCache):
    def incr(self, key, delta=1, version=None):
        db = router.db_for_write(self.cache_model_class)
        connection = connections[db]
        table = connection.ops.quote_name(self._table)
        cache_key = self.make_and_validate_key(key, version=version)
        lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
        with transaction.atomic(using=db):
            with connection.cursor() as cursor:
                cursor.execute(
                    f"SELECT expires FROM {table} WHERE cache_key = %s{lock}", [cache_key]
                )
                row = cursor.fetchone()
            value = self.get(key, self._missing_key, version=version)
            if row is None or value is self._missing_key:
                raise ValueError(f"Key '{key}' not found")
            expires = row[0]
            expression = models.Expression(output_field=models.DateTimeField())
            for converter in connection.ops.get_db_converters(
                expression
            ) + expression.get_db_converters(connection):
                expires = converter(expires, expression, connection)
            remaining = max(1.0, (expires - timezone.now()).total_seconds())
            new_value = value + delta
            self.set(key, new_value, timeout=remaining, version=version)
            return new_value
