"""Error pages with a human message; htmx requests get a toast instead of a broken swap."""

from flask import Flask, make_response, render_template
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from blueprints.htmx import is_htmx, retarget
from extensions import db

MESSAGES = {
    400: ("Something in that request was off", "Please go back and try again."),
    403: ("Not allowed", "Your role does not give access to this page."),
    404: ("Not found", "We could not find that page. It may have moved, or the link is wrong."),
    405: ("Not allowed", "That action is not available here."),
    413: ("Too large", "That upload is larger than we accept."),
    429: ("Too many attempts", "Please wait a minute before trying again."),
    500: ("Something went wrong", "The problem is on our side and has been logged."),
}


def refusal(status: int, title: str, detail: str):
    """Answer with a message: a toast for htmx, an error page otherwise."""
    if is_htmx():
        body = render_template("_toast.html", level="error", title=title, message=detail)
        return retarget(make_response(body, status), "#toasts", "beforeend")
    body = render_template("errors/error.html", status=status, title=title, detail=detail)
    return make_response(body, status)


def init_app(app: Flask) -> None:
    """Install the error handlers."""

    @app.errorhandler(CSRFError)
    def csrf_error(error):
        return refusal(
            400,
            "This form has expired",
            "The page was open too long or came from somewhere else. Reload it and try again.",
        )

    @app.errorhandler(429)
    def rate_limited(error):
        return refusal(429, *MESSAGES[429])

    @app.errorhandler(HTTPException)
    def http_error(error):
        title, detail = MESSAGES.get(error.code, (error.name, error.description))
        return refusal(error.code or 500, title, detail)

    @app.errorhandler(Exception)
    def unexpected(error):
        if app.testing:
            raise error
        db.session.rollback()
        app.logger.exception("unhandled error")
        return refusal(500, *MESSAGES[500])
