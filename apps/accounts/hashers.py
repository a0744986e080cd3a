"""The password hasher: Argon2id with a cost chosen for a small shared container.

Django's default Argon2 cost (m=100 MiB, t=2, p=8) made each login allocate 100 MiB; sixteen
at once grew the process by 1.2 GB. These parameters are OWASP's first recommended Argon2id
configuration (Password Storage Cheat Sheet: m=19 MiB, t=2, p=1), so one hash needs 19 MiB
and one core for a few tens of milliseconds. Parallelism 1 because requests are the
parallelism: the hashing pool (apps.accounts.passwords) runs PASSWORD_HASH_WORKERS hashes at
once, so hashing holds at most PASSWORD_HASH_WORKERS x 19 MiB per process.

The algorithm name stays "argon2", so hashes made with Django's defaults still verify; at
the next successful login `must_update` sees their old parameters and the password is
hashed again with these (apps.accounts.services). Verifying such an old hash still costs its
own 100 MiB, once per login, on the same bounded pool.
"""

from django.contrib.auth.hashers import Argon2PasswordHasher


class Argon2idPasswordHasher(Argon2PasswordHasher):
    time_cost = 2
    memory_cost = 19 * 1024  # KiB
    parallelism = 1
