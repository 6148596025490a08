"""The what-if page: check a cart against any state's pack, with its taxes."""

from flask import request

from blueprints.access import current_store
from blueprints.htmx import form_error_status, fragment_of, render
from blueprints.manage import bp
from blueprints.manage.forms import MAX_LINES, WhatIfForm, WhatIfLineForm
from models.rules.cart_lines import CartLine
from models.rules.purchase_limits import what_if
from models.rules.taxes import TaxInputError


@bp.get("/limits")
def limits():
    """Show the what-if form and, once submitted, the verdict, the limit meter and the taxes."""
    store = current_store()
    submitted = "state" in request.args
    form = WhatIfForm(formdata=request.args if submitted else None)
    if not submitted:
        form.state.data = store.state
        form.day.data = store.business_date()
    check = error = None
    status = 200
    if submitted and form.validate():
        day = form.day.data or store.business_date()
        lines = [
            (
                CartLine(
                    None if line.category.data == "none" else line.category.data,
                    net_weight_mg=line.net_weight.data,
                    thc_mg=line.thc.data,
                    quantity=line.quantity.data or 1,
                    label=f"Line {n}",
                ),
                line.price.data or 0,
            )
            for n, line in enumerate(form.filled_lines(), start=1)
        ]
        # The current store's local rates apply when it is in the state being checked.
        local = store.local_tax_rates() if store.state == form.state.data else {}
        try:
            check = what_if(
                form.state.data,
                form.customer_class.data,
                lines,
                day=day,
                resident=not form.non_resident.data,
                age=form.age.data,
                local_rates=local,
            )
        except TaxInputError as exc:
            error = str(exc)
            status = form_error_status()
    elif submitted:
        status = form_error_status()
    return render(
        "manage/limits.html",
        block="whatif",
        status=status,
        store=store,
        form=form,
        check=check,
        error=error,
        max_lines=MAX_LINES,
    )


@bp.get("/limits/line")
@fragment_of("manage.limits")
def limits_line():
    """Return one more empty line for the what-if cart."""
    index = request.args.get("index", type=int) or 0
    index = max(0, min(index, MAX_LINES - 1))
    line = WhatIfLineForm(prefix=f"lines-{index}")
    return render("manage/_whatif_line.html", line=line, index=index)
