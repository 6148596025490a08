"""Flask extension objects, created unbound so any module can import them without the app."""

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from htmx_flask import Htmx

from models.base import Base

db = SQLAlchemy(model_class=Base)
migrate = Migrate(compare_type=True, render_as_batch=True)
login_manager = LoginManager()
csrf = CSRFProtect()
htmx = Htmx()
limiter = Limiter(key_func=get_remote_address, default_limits=[])
