"""A dry run records reports and sends nothing: no screen may say they were reported."""

import uuid

import pytest
from register_support import make_package, make_product, open_sale
from tracktrace_support import FAST, complete_sale, metrc_tag, point_at_metrc, stock

from extensions import db
from jobs.queues import wait_for_background
from models.compliance.outbox import ComplianceReport, queue_report
from models.sales.lines import add_by_tag
from support import base_config
from tracktrace.emulator import Emulator

RECORDED = "Recorded (dry run)"


@pytest.fixture
def app_config(database_uri):
    config = base_config(database_uri)
    config.update(FAST)
    return config


@pytest.fixture
def budtender(store, make_user):
    return make_user(store)


@pytest.fixture
def manager(store, make_user):
    return make_user(store, role="manager")


@pytest.fixture
def till(htmx_client, budtender, login_as):
    login_as(htmx_client, budtender)
    response = htmx_client.post(
        "/register/drawer/open", data={"name": "Register 1", "float_amount": "200"}
    )
    assert response.status_code == 204, response.get_data(as_text=True)
    return htmx_client


def sell(till, store, budtender, jar=None) -> int:
    """Ring up and pay for one jar at the register; return the sale's id."""
    jar = jar or make_package(make_product(store), 5)
    order = open_sale(store, budtender)
    add_by_tag(order, jar.tag, 1)
    db.session.commit()
    response = till.post(
        f"/register/sale/{order.id}/complete",
        data={"client_token": uuid.uuid4().hex, "cash_given": "50"},
    )
    assert response.status_code == 204, response.get_data(as_text=True)
    return order.id


def report_of(order_id: int) -> ComplianceReport:
    wait_for_background()
    db.session.expire_all()
    return db.session.query(ComplianceReport).filter_by(order_id=order_id, kind="sale").one()


def screens(till, client, manager, login_as, order_id: int, report_id: int) -> dict[str, str]:
    """Return every page that shows the sale's report status, as people see them."""
    pages = {
        "receipt": till.get(f"/register/sale/{order_id}/receipt").get_data(as_text=True),
        "badge": till.get(f"/register/sale/{order_id}/report-status").get_data(as_text=True),
        "sales list": till.get("/register/sales").get_data(as_text=True),
    }
    login_as(client, manager)
    pages["dashboard"] = client.get("/manage/").get_data(as_text=True)
    pages["compliance"] = client.get("/manage/compliance").get_data(as_text=True)
    pages["report"] = client.get(f"/manage/compliance/reports/{report_id}").get_data(as_text=True)
    return pages


def test_a_dry_run_sale_reads_recorded_never_reported(
    till, client, store, budtender, manager, login_as
):
    assert store.tracktrace_dry_run is True
    order_id = sell(till, store, budtender)
    report = report_of(order_id)
    assert report.status == "sent"
    for name, page in screens(till, client, manager, login_as, order_id, report.id).items():
        assert RECORDED in page, name
        assert "Reported" not in page, name
    assert report_of(order_id).dry_run is True


def test_a_live_sale_reads_reported_and_old_dry_runs_stay_recorded(
    till, client, store, budtender, manager, login_as
):
    rehearsal = sell(till, store, budtender)
    with Emulator() as emulator:
        point_at_metrc(store, emulator)
        jar = stock(store, emulator, metrc_tag(1), 5)
        order = complete_sale(store, [(jar, 1, 3500)])
        order_id = order.id  # read before the commit: the send runs while we wait
        queue_report("sale", store, order=order)
        db.session.commit()
        report = report_of(order_id)
    assert (report.status, report.dry_run) == ("sent", False), report.last_error
    pages = screens(till, client, manager, login_as, order_id, report.id)
    assert "Reported to the state" in pages["badge"]
    assert "Reported" in pages["report"] and RECORDED not in pages["report"]
    assert "Reported" in pages["sales list"]
    old = report_of(rehearsal)
    assert old.dry_run is True
    page = client.get(f"/manage/compliance/reports/{old.id}").get_data(as_text=True)
    assert RECORDED in page
