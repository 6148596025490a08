"""Sign-in pages for staff and customers, customer sign-up, and sign-out."""

from flask import current_app, flash, request, url_for
from sqlalchemy import func, select

from blueprints.auth import bp
from blueprints.auth.forms import CustomerLoginForm, SignupForm, StaffLoginForm
from blueprints.htmx import form_error_status, redirect_to, render
from blueprints.ratelimits import count_failures, login_key, login_limit
from blueprints.redirects import safe_next
from blueprints.sessions import current_customer, current_staff, sign_in, sign_out
from blueprints.storefront.shopper import after_sign_in, before_sign_in, shopper_today
from extensions import db, limiter
from models.base import utcnow
from models.infra import audit
from models.people.customers import Customer, SignupRefused, check_signup_age, find_by_medical_card
from models.people.sign_in import LOCK_MINUTES, try_password
from models.people.users import ROLE_RANK, User


def _refuse(form, template: str, message: str, **context):
    form.form_errors.append(message)
    return render(template, block="form", status=form_error_status(), form=form, **context)


@bp.route("/staff/login", methods=["GET", "POST"])
@limiter.limit(login_limit, key_func=login_key, methods=["POST"], deduct_when=count_failures)
def staff_login():
    """Sign a staff member in with email and password."""
    form = StaffLoginForm()
    if not form.validate_on_submit():
        status = form_error_status() if request.method == "POST" else 200
        return render("auth/staff_login.html", block="form", status=status, form=form)

    attempt = try_password(
        User, form.email.data, form.password.data, current_app.config["PASSWORD_LOCK_AFTER"]
    )
    user = attempt.account
    if attempt.outcome == "locked":
        audit.record("login.locked", user_id=user.id)
        db.session.commit()
        return _refuse(
            form,
            "auth/staff_login.html",
            f"This account is locked after too many failed sign-ins. Try again in {LOCK_MINUTES} "
            "minutes or ask a manager.",
        )
    if attempt.outcome == "wrong":
        if user is not None:
            audit.record("login.failed", user_id=user.id)
            db.session.commit()
        return _refuse(form, "auth/staff_login.html", "That email and password do not match.")
    if not user.memberships:
        return _refuse(form, "auth/staff_login.html", "Your account is not assigned to a store.")

    user.last_login_at = utcnow()
    sign_in(user)
    audit.record("login.staff", store_id=user.stores()[0].id, user_id=user.id)
    db.session.commit()
    top_role = max((m.role for m in user.memberships), key=ROLE_RANK.__getitem__)
    default = url_for("manage.dashboard") if top_role != "budtender" else url_for("register.home")
    return redirect_to(safe_next(default))


@bp.post("/logout")
def logout():
    """Sign out for good: the session row is revoked, so a copied cookie stops working."""
    was_staff = current_staff() is not None
    sign_out()
    db.session.commit()
    flash("You are signed out.", "info")
    return redirect_to(url_for("auth.staff_login") if was_staff else url_for("storefront.index"))


@bp.route("/account/login", methods=["GET", "POST"])
@limiter.limit(login_limit, key_func=login_key, methods=["POST"], deduct_when=count_failures)
def customer_login():
    """Sign a customer in to their online account."""
    form = CustomerLoginForm()
    if not form.validate_on_submit():
        status = form_error_status() if request.method == "POST" else 200
        return render("auth/customer_login.html", block="form", status=status, form=form)

    attempt = try_password(
        Customer, form.email.data, form.password.data, current_app.config["PASSWORD_LOCK_AFTER"]
    )
    customer = attempt.account
    if attempt.outcome == "locked":
        return _refuse(
            form,
            "auth/customer_login.html",
            f"This account is locked after too many failed sign-ins. Try again in {LOCK_MINUTES} "
            "minutes.",
        )
    if attempt.outcome == "wrong":
        db.session.commit()
        return _refuse(form, "auth/customer_login.html", "That email and password do not match.")
    saved = before_sign_in()
    sign_in(customer)
    after_sign_in(saved, customer)
    db.session.commit()
    return redirect_to(safe_next(url_for("storefront.account")))


@bp.route("/account/signup", methods=["GET", "POST"])
def signup():
    """Create a customer's online account; under 21 needs a valid medical card (then 18+)."""
    if current_customer() is not None:
        return redirect_to(url_for("storefront.account"))
    form = SignupForm()
    if not form.validate_on_submit():
        status = form_error_status() if request.method == "POST" else 200
        return render("auth/signup.html", block="form", status=status, form=form)

    today = shopper_today()
    card_expires = form.medical_card_expires.data if form.has_medical_card.data else None
    if card_expires is not None and card_expires < today:
        form.medical_card_expires.errors.append(
            "This card has expired. Renew it with the state before registering it."
        )
        return render("auth/signup.html", block="form", status=form_error_status(), form=form)
    try:
        check_signup_age(form.date_of_birth.data, today, card_expires)
    except SignupRefused as refusal:
        form.date_of_birth.errors.append(str(refusal))
        return render("auth/signup.html", block="form", status=form_error_status(), form=form)

    email = form.email.data.strip().lower()
    if db.session.scalar(select(Customer.id).where(func.lower(Customer.email) == email)):
        form.email.errors.append("An account with this email exists. Sign in instead.")
        return render("auth/signup.html", block="form", status=form_error_status(), form=form)

    customer = Customer(
        first_name=form.first_name.data.strip(),
        last_name=form.last_name.data.strip(),
        email=email,
        phone=(form.phone.data or "").strip() or None,
        date_of_birth=form.date_of_birth.data,
        resident_state=form.resident_state.data,
    )
    customer.set_password(form.password.data)
    if form.has_medical_card.data:
        # A claim until a budtender checks the card at the counter: adult use until then.
        customer.kind = "medical"
        customer.medical_card_number = form.medical_card_number.data
        customer.medical_card_state = form.medical_card_state.data
        customer.medical_card_expires = card_expires
        if find_by_medical_card(form.medical_card_number.data) is not None:
            form.medical_card_number.errors.append(
                "This card is already registered. Sign in, or ask the store to help."
            )
            return render("auth/signup.html", block="form", status=form_error_status(), form=form)
    db.session.add(customer)
    db.session.flush()
    saved = before_sign_in()
    sign_in(customer)
    after_sign_in(saved, customer)
    audit.record("customer.signup", customer_id=customer.id)
    db.session.commit()
    flash(f"Welcome, {customer.first_name}! Your account is ready.", "success")
    return redirect_to(safe_next(url_for("storefront.account")))
