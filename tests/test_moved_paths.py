"""Old dotted paths of the modules that moved into layer packages (issue 14) still work for
one release: an RQ job queued, or an object pickled, under an old path finds its module."""

import importlib
import pickle
from decimal import Decimal

import pytest

from o2o_sync import sync
from o2o_sync.sync.model.records import PortalInvoice, PortalLine


@pytest.mark.parametrize("old", sorted(sync.MOVED))
def test_an_old_path_is_the_module_it_moved_to(old):
	module = importlib.import_module(old)
	assert module is importlib.import_module(sync.MOVED[old])
	# the module's own spec and name are untouched by the alias
	assert module.__spec__.name == module.__name__ == sync.MOVED[old]


def test_an_object_pickled_under_an_old_path_loads():
	line = PortalLine(7, 1, 2, 3, 1, "10", "Nos", Decimal("10"), Decimal("1.8"), Decimal("11.8"))
	data = pickle.dumps(line, protocol=0).replace(b"o2o_sync.sync.model.records", b"o2o_sync.sync.records")
	assert b"o2o_sync.sync.records" in data
	assert pickle.loads(data) == line


def test_a_name_imported_from_an_old_path():
	from o2o_sync.sync.pull import PullEngine
	from o2o_sync.sync.records import PortalInvoice as Old

	assert Old is PortalInvoice
