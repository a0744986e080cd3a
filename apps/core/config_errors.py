from django.core.exceptions import ImproperlyConfigured


class ConfigurationError(ImproperlyConfigured):
    """The environment does not describe a deployable configuration."""
