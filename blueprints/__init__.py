"""One blueprint package per surface: storefront, auth, register, manage."""

from flask import Flask


def register_blueprints(app: Flask) -> None:
    """Attach every surface and the error pages to the app."""
    from blueprints import errors, filters, input_guard, numbers
    from blueprints.auth import bp as auth_bp
    from blueprints.manage import bp as manage_bp
    from blueprints.register import bp as register_bp
    from blueprints.storefront import bp as storefront_bp

    # Before any route is added: the routes' `<id:...>` converters are looked up as they are.
    numbers.init_app(app)
    input_guard.init_app(app)
    app.register_blueprint(storefront_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(register_bp, url_prefix="/register")
    app.register_blueprint(manage_bp, url_prefix="/manage")
    errors.init_app(app)
    filters.init_app(app)
