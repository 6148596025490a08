"""Store settings: details and hours, register discounts, online ordering, taxes, reporting."""

from flask import flash, request, url_for

from blueprints.access import acting_staff, current_store
from blueprints.htmx import form_error_status, is_htmx, redirect_to, render
from blueprints.manage import bp
from blueprints.manage.settings_forms import (
    DAY_NAMES,
    CashSettingsForm,
    OnlineSettingsForm,
    RegisterSettingsForm,
    ReportingForm,
    StoreDetailsForm,
    tax_form,
)
from extensions import db
from jobs.connection_check import check_connection
from models.base import set_changed
from models.infra import audit
from models.online.pickup import (
    DEFAULT_GRACE_MINUTES,
    DEFAULT_LEAD_MINUTES,
    DEFAULT_SLOT_CAPACITY,
    DEFAULT_SLOT_MINUTES,
    WEEKDAYS,
)
from models.rules.purchase_limits import pack_for
from models.stores.hours import hours_setting, week_of
from models.stores.store import Store
from tracktrace.addresses import choices, effective_url, refusal
from tracktrace.setup import (
    BIOTRACK_KEYS,
    METRC_KEYS,
    configure,
    credentials_after,
    moves,
)


def _local_taxes(store: Store) -> dict[str, str]:
    """Return {local tax name: field label} for the taxes the store's rules let it set."""
    taxes = sorted((t for t in pack_for(store).taxes if t.local_rate), key=lambda t: t.name)
    return {t.local_rate: f"{t.name} (%)" for t in taxes}


def _tax_caps(store: Store) -> dict:
    return {t.local_rate: t.max_percent for t in pack_for(store).taxes if t.local_rate}


def _details_form(store: Store, formdata=None) -> StoreDetailsForm:
    form = StoreDetailsForm(formdata=formdata, name=store.name, phone=store.phone)
    if formdata is None:
        for day, period in week_of(store).items():
            if period is not None:
                form[f"{day}_opens"].data = period[0].strftime("%H:%M")
                form[f"{day}_closes"].data = period[1].strftime("%H:%M")
    return form


def _register_form(store: Store, formdata=None) -> RegisterSettingsForm:
    return RegisterSettingsForm(
        formdata=formdata,
        approval_percent=store.discount_approval_bp,
        approval_amount=store.discount_approval_cents,
    )


def _cash_form(store: Store, formdata=None) -> CashSettingsForm:
    return CashSettingsForm(
        formdata=formdata,
        over_short_amount=store.drawer_variance_cents,
        refund_amount=store.refund_approval_cents,
        refund_days=str(store.refund_approval_days),
    )


def _online_form(store: Store, formdata=None) -> OnlineSettingsForm:
    return OnlineSettingsForm(
        formdata=formdata,
        online_ordering=store.online_ordering,
        slot_minutes=store.pickup_slot_minutes or DEFAULT_SLOT_MINUTES,
        slot_capacity=store.pickup_slot_capacity or DEFAULT_SLOT_CAPACITY,
        lead_minutes=(
            DEFAULT_LEAD_MINUTES if store.pickup_lead_minutes is None else store.pickup_lead_minutes
        ),
        grace_minutes=(
            DEFAULT_GRACE_MINUTES
            if store.pickup_grace_minutes is None
            else store.pickup_grace_minutes
        ),
    )


def _tax_form(store: Store, formdata=None):
    rates = store.local_tax_rates()
    initial = {name: format(rates[name] / 100, "f") for name in rates}
    form = tax_form(_local_taxes(store))(formdata=formdata, data=initial)
    if formdata is None:
        # A rate saved before the state's cap was known: say so where it can be corrected.
        for name, cap in _tax_caps(store).items():
            if name in rates and name in form and cap is not None and rates[name] > cap * 100:
                form[name].errors = [
                    f"The saved rate is above the {cap}% the state allows: correct it, or "
                    "sales cannot be taxed."
                ]
    return form


def _reporting_form(store: Store, formdata=None) -> ReportingForm:
    saved = store.tracktrace_credentials()
    form = ReportingForm(
        formdata=formdata,
        system=store.tracktrace_system,
        mode="dryrun" if store.tracktrace_dry_run else "live",
        base_url=effective_url(store),
        license_number=store.tracktrace_license or store.license_number,
        ubi=saved.get("ubi", ""),
        username=saved.get("username", ""),
        api=saved.get("api", "v3"),
    )
    form.base_url.choices = {
        label: [(choice.url, choice.label) for choice in options]
        for label, options in choices(store).items()
    }
    return form


def _page(status: int = 200, check=None, **forms):
    """Render the settings page, keeping the forms being shown again with their errors."""
    store = current_store()
    forms.setdefault("details_form", _details_form(store))
    forms.setdefault("register_form", _register_form(store))
    forms.setdefault("cash_form", _cash_form(store))
    forms.setdefault("online_form", _online_form(store))
    forms.setdefault("tax_form", _tax_form(store))
    forms.setdefault("reporting_form", _reporting_form(store))
    saved = store.tracktrace_credentials()
    return render(
        "manage/settings.html",
        status=status,
        store=store,
        weekdays=WEEKDAYS,
        day_names=DAY_NAMES,
        local_taxes=_local_taxes(store),
        tax_caps=_tax_caps(store),
        saved_secrets={key for key, value in saved.items() if value},
        current_url=effective_url(store),
        check=check,
        **forms,
    )


def _saved(section: str, changed: list[str], anchor: str):
    """Audit a settings change (field names only, never values) and go back to the section."""
    store = current_store()
    if changed:
        audit.record(
            "store.settings_changed",
            store_id=store.id,
            user_id=acting_staff().id,
            obj=store,
            reason=f"{section}: {', '.join(changed)}",
        )
        db.session.commit()
        flash(f"{section} saved.")
    else:
        flash(f"{section}: nothing changed.")
    return redirect_to(url_for("manage.settings") + f"#{anchor}")


FIELD_NAMES = {
    "hours": "opening hours",
    "discount_approval_bp": "approval percent",
    "discount_approval_cents": "approval amount",
    "drawer_variance_cents": "over/short allowed",
    "refund_approval_cents": "refund approval amount",
    "refund_approval_days": "refund approval age",
    "online_ordering": "online ordering",
    "pickup_slot_minutes": "slot length",
    "pickup_slot_capacity": "orders per slot",
    "pickup_lead_minutes": "earliest pickup",
    "pickup_grace_minutes": "hold after slot",
    "local_tax_rates_bp": "rates",
}


def _assign(store: Store, values: dict) -> list[str]:
    """Set the store's attributes that differ; return what changed, in words."""
    return [FIELD_NAMES.get(name, name) for name in set_changed(store, values)]


@bp.get("/settings")
def settings():
    """Show the store's settings, one form per section."""
    return _page()


@bp.post("/settings/store")
def settings_store():
    """Save the store's name, phone and opening hours."""
    store = current_store()
    form = StoreDetailsForm()
    if not form.validate():
        return _page(form_error_status(), details_form=form)
    changed = _assign(
        store,
        {
            "name": form.name.data.strip(),
            "phone": (form.phone.data or "").strip(),
            "hours": hours_setting(form.weekly),
        },
    )
    return _saved("Store details", changed, "store")


@bp.post("/settings/register")
def settings_register():
    """Save when a discount needs a manager's approval."""
    form = RegisterSettingsForm()
    if not form.validate():
        return _page(form_error_status(), register_form=form)
    changed = _assign(
        current_store(),
        {
            "discount_approval_bp": form.approval_percent.data,
            "discount_approval_cents": form.approval_amount.data,
        },
    )
    return _saved("Register", changed, "register")


@bp.post("/settings/cash")
def settings_cash():
    """Save when a closing count's over/short or a return needs a manager's approval."""
    form = CashSettingsForm()
    if not form.validate():
        return _page(form_error_status(), cash_form=form)
    changed = _assign(
        current_store(),
        {
            "drawer_variance_cents": form.over_short_amount.data,
            "refund_approval_cents": form.refund_amount.data,
            "refund_approval_days": form.refund_days.days,
        },
    )
    return _saved("Cash", changed, "cash")


@bp.post("/settings/online")
def settings_online():
    """Save online ordering and pickup slot settings."""
    form = OnlineSettingsForm()
    if not form.validate():
        return _page(form_error_status(), online_form=form)
    changed = _assign(
        current_store(),
        {
            "online_ordering": form.online_ordering.data,
            "pickup_slot_minutes": form.slot_minutes.data,
            "pickup_slot_capacity": form.slot_capacity.data,
            "pickup_lead_minutes": form.lead_minutes.data,
            "pickup_grace_minutes": form.grace_minutes.data,
        },
    )
    return _saved("Online ordering", changed, "online")


@bp.post("/settings/taxes")
def settings_taxes():
    """Save the store's local tax rates (checked against the state's caps)."""
    store = current_store()
    form = tax_form(_local_taxes(store))()
    rates = form.check_rates(_tax_caps(store)) if form.validate() else None
    if rates is None:
        return _page(form_error_status(), tax_form=form)
    changed = _assign(store, {"local_tax_rates_bp": rates})
    return _saved("Local taxes", changed, "taxes")


@bp.post("/settings/reporting")
def settings_reporting():
    """Save where and how the store reports; secrets left blank keep their saved values."""
    store = current_store()
    form = _reporting_form(store, request.form)
    if not form.validate():
        return _page(form_error_status(), reporting_form=form)
    system = form.system.data
    url = (form.base_url.data or "").strip().rstrip("/")
    problem = refusal(store, system, url)
    if problem:
        form.base_url.errors = [problem]
        return _page(form_error_status(), reporting_form=form)
    keys = METRC_KEYS if system == "metrc" else (*BIOTRACK_KEYS, "api")
    entered = {key: (form[key].data or "").strip() for key in keys}
    entered = {key: value for key, value in entered.items() if value}
    credentials = credentials_after(store, system, url, entered)
    live = form.mode.data == "live"
    missing = [form[key].label.text for key in keys if key != "api" and not credentials.get(key)]
    if live and missing:
        form.mode.errors = [f"Going live needs: {', '.join(missing)}."]
        return _page(form_error_status(), reporting_form=form)
    if live and not effective_url(store, system, url):
        form.base_url.errors = [
            f"{store.state}'s rules list no address for this system; ask the server's operator."
        ]
        return _page(form_error_status(), reporting_form=form)
    cleared = bool(missing) and moves(store, system, url) and bool(store.tracktrace_credentials())
    changed = configure(
        store,
        system=system,
        url=url,
        license_number=(form.license_number.data or "").strip(),
        credentials=entered,
        dry_run=not live,
    )
    if cleared:
        flash(
            "The address changed, so the saved keys were cleared: enter them again for the new "
            "address before going live."
        )
    return _saved("State reporting", changed, "reporting")


@bp.post("/settings/test-connection")
def settings_test_connection():
    """Ask the state system whether the saved credentials and license work."""
    check = check_connection(current_store())
    if is_htmx():
        return render("manage/settings.html", block="connection_check", check=check)
    flash(check.message, "message" if check.ok else "error")
    return redirect_to(url_for("manage.settings") + "#reporting")
