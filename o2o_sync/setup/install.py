# Copyright (c) 2026, o2o_sync developers and contributors
# For license information, please see license.txt

"""Install and uninstall hooks (see hooks.py)."""

from o2o_sync.setup.custom_fields import (
	install_custom_fields,
	install_property_setters,
	remove_custom_fields,
	remove_property_setters,
)


def after_install():
	"""Add o2o_sync's fields and property setters to ERPNext's doctypes."""
	install_custom_fields()
	install_property_setters()


def after_migrate():
	"""Keep the fields and property setters as this version of the app defines them."""
	after_install()


def before_uninstall():
	"""Take o2o_sync's property setters and custom fields away again."""
	remove_property_setters()
	remove_custom_fields()
