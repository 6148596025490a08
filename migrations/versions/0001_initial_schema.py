"""Initial schema: stores, staff, customers, catalog, stock ledger, orders, outbox, audit trail.

Reviewed by hand: every invariant the app relies on is a database constraint (quantities >= 0,
one tag per store, one client_token per sale, one outbox row per reported fact), names follow the
naming convention, and the audit trail is append-only through triggers on both databases.

Revision ID: 0001
Revises: 
Create Date: 2026-11-27 17:14:43.671376

"""
from alembic import op
import sqlalchemy as sa
import models.base


# revision identifiers, used by Alembic.
revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('customer',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('first_name', sa.String(length=80), nullable=False),
    sa.Column('last_name', sa.String(length=80), nullable=False),
    sa.Column('date_of_birth', sa.Date(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('phone', sa.String(length=32), nullable=True),
    sa.Column('password_hash', sa.String(length=200), nullable=True),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('medical_card_enc', sa.LargeBinary(), nullable=True),
    sa.Column('medical_card_hash', sa.String(length=64), nullable=True),
    sa.Column('medical_card_state', sa.String(length=2), nullable=True),
    sa.Column('medical_card_expires', sa.Date(), nullable=True),
    sa.Column('id_number_enc', sa.LargeBinary(), nullable=True),
    sa.Column('id_number_hash', sa.String(length=64), nullable=True),
    sa.Column('id_state', sa.String(length=2), nullable=True),
    sa.Column('id_expires', sa.Date(), nullable=True),
    sa.Column('resident_state', sa.String(length=2), nullable=False),
    sa.Column('caregiver_for_id', sa.Integer(), nullable=True),
    sa.Column('failed_logins', sa.Integer(), nullable=False),
    sa.Column('locked_until', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind = 'adult_use' OR medical_card_hash IS NOT NULL", name=op.f('ck_customer_medical_needs_card')),
    sa.CheckConstraint("kind IN ('adult_use', 'medical', 'caregiver')", name=op.f('ck_customer_kind')),
    sa.ForeignKeyConstraint(['caregiver_for_id'], ['customer.id'], name=op.f('fk_customer_caregiver_for_id_customer'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customer')),
    sa.UniqueConstraint('email', name=op.f('uq_customer_email')),
    sa.UniqueConstraint('medical_card_hash', name=op.f('uq_customer_medical_card_hash'))
    )
    with op.batch_alter_table('customer', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_customer_id_number_hash'), ['id_number_hash'], unique=False)
        batch_op.create_index(batch_op.f('ix_customer_phone'), ['phone'], unique=False)

    op.create_table('store',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('license_number', sa.String(length=40), nullable=False),
    sa.Column('state', sa.String(length=2), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('street', sa.String(length=160), nullable=False),
    sa.Column('city', sa.String(length=80), nullable=False),
    sa.Column('postal_code', sa.String(length=12), nullable=False),
    sa.Column('phone', sa.String(length=32), nullable=False),
    sa.Column('hours', sa.JSON(), nullable=False),
    sa.Column('sells_adult_use', sa.Boolean(), nullable=False),
    sa.Column('sells_medical', sa.Boolean(), nullable=False),
    sa.Column('online_ordering', sa.Boolean(), nullable=False),
    sa.Column('rule_pack', sa.String(length=8), nullable=False),
    sa.Column('local_tax_rates_bp', sa.JSON(), nullable=False),
    sa.Column('tracktrace_system', sa.String(length=16), nullable=False),
    sa.Column('tracktrace_dry_run', sa.Boolean(), nullable=False),
    sa.Column('tracktrace_license', sa.String(length=40), nullable=False),
    sa.Column('tracktrace_base_url', sa.String(length=200), nullable=False),
    sa.Column('tracktrace_credentials_enc', sa.LargeBinary(), nullable=True),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("tracktrace_system IN ('metrc', 'biotrack')", name=op.f('ck_store_tracktrace_system')),
    sa.CheckConstraint('length(state) = 2', name=op.f('ck_store_state_code')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_store')),
    sa.UniqueConstraint('code', name=op.f('uq_store_code')),
    sa.UniqueConstraint('license_number', name=op.f('uq_store_license_number'))
    )
    op.create_table('user_account',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('password_hash', sa.String(length=200), nullable=False),
    sa.Column('pin_hash', sa.String(length=200), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('failed_logins', sa.Integer(), nullable=False),
    sa.Column('locked_until', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('pin_failures', sa.Integer(), nullable=False),
    sa.Column('pin_locked_until', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_login_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_user_account')),
    sa.UniqueConstraint('email', name=op.f('uq_user_account_email'))
    )
    op.create_table('audit_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('customer_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=60), nullable=False),
    sa.Column('object_type', sa.String(length=40), nullable=True),
    sa.Column('object_id', sa.String(length=40), nullable=True),
    sa.Column('reason', sa.String(length=300), nullable=True),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.Column('ip', sa.String(length=45), nullable=True),
    sa.Column('request_id', sa.String(length=32), nullable=True),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_audit_event_customer_id_customer')),
    sa.ForeignKeyConstraint(['store_id'], ['store.id'], name=op.f('fk_audit_event_store_id_store')),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_audit_event_user_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_event'))
    )
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_event_action'), ['action'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_event_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_event_store_id'), ['store_id'], unique=False)

    op.create_table('login_session',
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('customer_id', sa.Integer(), nullable=True),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint('(user_id IS NULL) <> (customer_id IS NULL)', name=op.f('ck_login_session_exactly_one_principal')),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_login_session_customer_id_customer'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_login_session_user_id_user_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('token_hash', name=op.f('pk_login_session'))
    )
    with op.batch_alter_table('login_session', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_login_session_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_login_session_user_id'), ['user_id'], unique=False)

    op.create_table('product',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('sku', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=160), nullable=False),
    sa.Column('brand', sa.String(length=80), nullable=False),
    sa.Column('category', sa.String(length=16), nullable=False),
    sa.Column('limit_category', sa.String(length=20), nullable=True),
    sa.Column('strain_type', sa.String(length=8), nullable=False),
    sa.Column('strain', sa.String(length=80), nullable=True),
    sa.Column('thc_pct_bp', sa.Integer(), nullable=True),
    sa.Column('cbd_pct_bp', sa.Integer(), nullable=True),
    sa.Column('thc_mg', sa.Integer(), nullable=True),
    sa.Column('cbd_mg', sa.Integer(), nullable=True),
    sa.Column('net_weight_mg', sa.Integer(), nullable=True),
    sa.Column('sold_by', sa.String(length=8), nullable=False),
    sa.Column('price_cents', sa.Integer(), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('image_path', sa.String(length=200), nullable=True),
    sa.Column('online_visible', sa.Boolean(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("category IN ('flower', 'preroll', 'vape', 'concentrate', 'edible', 'beverage', 'tincture', 'topical', 'accessory')", name=op.f('ck_product_category')),
    sa.CheckConstraint("limit_category IS NULL OR limit_category IN ('flower', 'preroll', 'infused_preroll', 'concentrate', 'vape', 'edible', 'beverage', 'tincture', 'topical', 'immature_plant', 'seed')", name=op.f('ck_product_limit_category')),
    sa.CheckConstraint("sold_by IN ('each', 'weight')", name=op.f('ck_product_sold_by')),
    sa.CheckConstraint("strain_type IN ('indica', 'sativa', 'hybrid', 'cbd', 'none')", name=op.f('ck_product_strain_type')),
    sa.CheckConstraint('cbd_pct_bp IS NULL OR (cbd_pct_bp >= 0 AND cbd_pct_bp <= 10000)', name=op.f('ck_product_cbd_pct_range')),
    sa.CheckConstraint('net_weight_mg IS NULL OR net_weight_mg > 0', name=op.f('ck_product_net_weight_positive')),
    sa.CheckConstraint('price_cents >= 0', name=op.f('ck_product_price_nonnegative')),
    sa.CheckConstraint('thc_mg IS NULL OR thc_mg >= 0', name=op.f('ck_product_thc_mg_nonnegative')),
    sa.CheckConstraint('thc_pct_bp IS NULL OR (thc_pct_bp >= 0 AND thc_pct_bp <= 10000)', name=op.f('ck_product_thc_pct_range')),
    sa.ForeignKeyConstraint(['store_id'], ['store.id'], name=op.f('fk_product_store_id_store'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_product')),
    sa.UniqueConstraint('store_id', 'sku', name=op.f('uq_product_store_id_sku'))
    )
    with op.batch_alter_table('product', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_product_store_id'), ['store_id'], unique=False)

    op.create_table('sale_order',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=10), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=True),
    sa.Column('budtender_id', sa.Integer(), nullable=True),
    sa.Column('client_token', sa.String(length=64), nullable=True),
    sa.Column('customer_class', sa.String(length=16), nullable=False),
    sa.Column('pickup_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('subtotal_cents', sa.Integer(), nullable=False),
    sa.Column('discount_cents', sa.Integer(), nullable=False),
    sa.Column('discount_reason', sa.String(length=200), nullable=True),
    sa.Column('tax_cents', sa.Integer(), nullable=False),
    sa.Column('total_cents', sa.Integer(), nullable=False),
    sa.Column('tax_lines', sa.JSON(), nullable=False),
    sa.Column('business_date', sa.Date(), nullable=True),
    sa.Column('completed_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('voided_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('void_reason', sa.String(length=300), nullable=True),
    sa.Column('voided_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("channel IN ('register', 'web')", name=op.f('ck_sale_order_channel')),
    sa.CheckConstraint("status IN ('open', 'placed', 'accepted', 'packed', 'ready', 'completed', 'voided', 'cancelled', 'expired')", name=op.f('ck_sale_order_status')),
    sa.CheckConstraint('discount_cents >= 0', name=op.f('ck_sale_order_discount_nonnegative')),
    sa.CheckConstraint('subtotal_cents >= 0', name=op.f('ck_sale_order_subtotal_nonnegative')),
    sa.CheckConstraint('tax_cents >= 0', name=op.f('ck_sale_order_tax_nonnegative')),
    sa.CheckConstraint('total_cents >= 0', name=op.f('ck_sale_order_total_nonnegative')),
    sa.ForeignKeyConstraint(['budtender_id'], ['user_account.id'], name=op.f('fk_sale_order_budtender_id_user_account')),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_sale_order_customer_id_customer')),
    sa.ForeignKeyConstraint(['store_id'], ['store.id'], name=op.f('fk_sale_order_store_id_store')),
    sa.ForeignKeyConstraint(['voided_by_id'], ['user_account.id'], name=op.f('fk_sale_order_voided_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sale_order')),
    sa.UniqueConstraint('client_token', name=op.f('uq_sale_order_client_token'))
    )
    with op.batch_alter_table('sale_order', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sale_order_business_date'), ['business_date'], unique=False)
        batch_op.create_index(batch_op.f('ix_sale_order_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_sale_order_store_id'), ['store_id'], unique=False)

    op.create_table('store_membership',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.CheckConstraint("role IN ('budtender', 'manager', 'admin')", name=op.f('ck_store_membership_role')),
    sa.ForeignKeyConstraint(['store_id'], ['store.id'], name=op.f('fk_store_membership_store_id_store'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_store_membership_user_id_user_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_store_membership')),
    sa.UniqueConstraint('user_id', 'store_id', name=op.f('uq_store_membership_user_id_store_id'))
    )
    with op.batch_alter_table('store_membership', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_store_membership_store_id'), ['store_id'], unique=False)

    op.create_table('package',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('tag', sa.String(length=32), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('unit', sa.String(length=8), nullable=False),
    sa.Column('lab_status', sa.String(length=8), nullable=False),
    sa.Column('on_hold', sa.Boolean(), nullable=False),
    sa.Column('hold_reason', sa.String(length=200), nullable=True),
    sa.Column('received_on', sa.Date(), nullable=False),
    sa.Column('expires_on', sa.Date(), nullable=True),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("lab_status IN ('passed', 'pending', 'failed')", name=op.f('ck_package_lab_status')),
    sa.CheckConstraint("unit IN ('each', 'grams')", name=op.f('ck_package_unit')),
    sa.CheckConstraint('quantity >= 0', name=op.f('ck_package_quantity_nonnegative')),
    sa.ForeignKeyConstraint(['product_id'], ['product.id'], name=op.f('fk_package_product_id_product')),
    sa.ForeignKeyConstraint(['store_id'], ['store.id'], name=op.f('fk_package_store_id_store'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_package')),
    sa.UniqueConstraint('store_id', 'tag', name=op.f('uq_package_store_id_tag'))
    )
    with op.batch_alter_table('package', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_package_product_id'), ['product_id'], unique=False)

    op.create_table('tender',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('amount_cents', sa.Integer(), nullable=False),
    sa.Column('tendered_cents', sa.Integer(), nullable=True),
    sa.Column('change_cents', sa.Integer(), nullable=False),
    sa.Column('reference', sa.String(length=64), nullable=True),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('cash', 'debit', 'gift_card', 'store_credit')", name=op.f('ck_tender_kind')),
    sa.CheckConstraint('amount_cents > 0', name=op.f('ck_tender_amount_positive')),
    sa.CheckConstraint('change_cents >= 0', name=op.f('ck_tender_change_nonnegative')),
    sa.ForeignKeyConstraint(['order_id'], ['sale_order.id'], name=op.f('fk_tender_order_id_sale_order'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tender'))
    )
    op.create_table('order_line',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('package_id', sa.Integer(), nullable=True),
    sa.Column('name', sa.String(length=160), nullable=False),
    sa.Column('brand', sa.String(length=80), nullable=False),
    sa.Column('sku', sa.String(length=40), nullable=False),
    sa.Column('category', sa.String(length=16), nullable=False),
    sa.Column('limit_category', sa.String(length=20), nullable=True),
    sa.Column('package_tag', sa.String(length=32), nullable=True),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('unit', sa.String(length=8), nullable=False),
    sa.Column('unit_price_cents', sa.Integer(), nullable=False),
    sa.Column('net_weight_mg', sa.Integer(), nullable=True),
    sa.Column('thc_mg', sa.Integer(), nullable=True),
    sa.Column('thc_pct_bp', sa.Integer(), nullable=True),
    sa.Column('discount_cents', sa.Integer(), nullable=False),
    sa.Column('discount_reason', sa.String(length=200), nullable=True),
    sa.Column('line_total_cents', sa.Integer(), nullable=False),
    sa.Column('returned_quantity', sa.Integer(), nullable=False),
    sa.CheckConstraint('discount_cents >= 0', name=op.f('ck_order_line_discount_nonnegative')),
    sa.CheckConstraint('line_total_cents >= 0', name=op.f('ck_order_line_line_total_nonnegative')),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_order_line_quantity_positive')),
    sa.CheckConstraint('returned_quantity >= 0', name=op.f('ck_order_line_returned_nonnegative')),
    sa.CheckConstraint('unit_price_cents >= 0', name=op.f('ck_order_line_unit_price_nonnegative')),
    sa.ForeignKeyConstraint(['order_id'], ['sale_order.id'], name=op.f('fk_order_line_order_id_sale_order'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['package_id'], ['package.id'], name=op.f('fk_order_line_package_id_package')),
    sa.ForeignKeyConstraint(['product_id'], ['product.id'], name=op.f('fk_order_line_product_id_product')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_order_line'))
    )
    with op.batch_alter_table('order_line', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_order_line_package_id'), ['package_id'], unique=False)

    op.create_table('reservation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('package_id', sa.Integer(), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('expires_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('released_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_reservation_quantity_positive')),
    sa.ForeignKeyConstraint(['order_id'], ['sale_order.id'], name=op.f('fk_reservation_order_id_sale_order'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['package_id'], ['package.id'], name=op.f('fk_reservation_package_id_package')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reservation'))
    )
    with op.batch_alter_table('reservation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reservation_expires_at'), ['expires_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_reservation_package_id'), ['package_id'], unique=False)

    op.create_table('stock_movement',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('package_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('delta', sa.Integer(), nullable=False),
    sa.Column('quantity_after', sa.Integer(), nullable=False),
    sa.Column('reason_code', sa.String(length=60), nullable=True),
    sa.Column('note', sa.String(length=300), nullable=True),
    sa.Column('order_id', sa.Integer(), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('receive', 'sale', 'void', 'return', 'adjustment', 'count', 'destroy')", name=op.f('ck_stock_movement_kind')),
    sa.CheckConstraint('delta <> 0', name=op.f('ck_stock_movement_delta_nonzero')),
    sa.CheckConstraint('quantity_after >= 0', name=op.f('ck_stock_movement_quantity_after_nonnegative')),
    sa.ForeignKeyConstraint(['order_id'], ['sale_order.id'], name=op.f('fk_stock_movement_order_id_sale_order')),
    sa.ForeignKeyConstraint(['package_id'], ['package.id'], name=op.f('fk_stock_movement_package_id_package')),
    sa.ForeignKeyConstraint(['store_id'], ['store.id'], name=op.f('fk_stock_movement_store_id_store'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_stock_movement_user_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stock_movement'))
    )
    with op.batch_alter_table('stock_movement', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_stock_movement_order_id'), ['order_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_stock_movement_package_id'), ['package_id'], unique=False)

    op.create_table('compliance_report',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=80), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=True),
    sa.Column('stock_movement_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('external_number', sa.String(length=64), nullable=False),
    sa.Column('state_id', sa.String(length=64), nullable=True),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sent_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("kind IN ('sale', 'void', 'return', 'adjustment')", name=op.f('ck_compliance_report_kind')),
    sa.CheckConstraint("status IN ('pending', 'sent', 'needs_attention', 'dead')", name=op.f('ck_compliance_report_status')),
    sa.CheckConstraint('attempts >= 0', name=op.f('ck_compliance_report_attempts_nonnegative')),
    sa.ForeignKeyConstraint(['order_id'], ['sale_order.id'], name=op.f('fk_compliance_report_order_id_sale_order')),
    sa.ForeignKeyConstraint(['stock_movement_id'], ['stock_movement.id'], name=op.f('fk_compliance_report_stock_movement_id_stock_movement')),
    sa.ForeignKeyConstraint(['store_id'], ['store.id'], name=op.f('fk_compliance_report_store_id_store')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_compliance_report')),
    sa.UniqueConstraint('key', name=op.f('uq_compliance_report_key'))
    )
    with op.batch_alter_table('compliance_report', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_compliance_report_order_id'), ['order_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_compliance_report_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_compliance_report_store_id'), ['store_id'], unique=False)

    _audit_append_only()



def downgrade():
    _drop_audit_append_only()
    with op.batch_alter_table('compliance_report', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_compliance_report_store_id'))
        batch_op.drop_index(batch_op.f('ix_compliance_report_status'))
        batch_op.drop_index(batch_op.f('ix_compliance_report_order_id'))

    op.drop_table('compliance_report')
    with op.batch_alter_table('stock_movement', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_stock_movement_package_id'))
        batch_op.drop_index(batch_op.f('ix_stock_movement_order_id'))

    op.drop_table('stock_movement')
    with op.batch_alter_table('reservation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reservation_package_id'))
        batch_op.drop_index(batch_op.f('ix_reservation_expires_at'))

    op.drop_table('reservation')
    with op.batch_alter_table('order_line', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_order_line_package_id'))

    op.drop_table('order_line')
    op.drop_table('tender')
    with op.batch_alter_table('package', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_package_product_id'))

    op.drop_table('package')
    with op.batch_alter_table('store_membership', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_store_membership_store_id'))

    op.drop_table('store_membership')
    with op.batch_alter_table('sale_order', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sale_order_store_id'))
        batch_op.drop_index(batch_op.f('ix_sale_order_customer_id'))
        batch_op.drop_index(batch_op.f('ix_sale_order_business_date'))

    op.drop_table('sale_order')
    with op.batch_alter_table('product', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_product_store_id'))

    op.drop_table('product')
    with op.batch_alter_table('login_session', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_login_session_user_id'))
        batch_op.drop_index(batch_op.f('ix_login_session_customer_id'))

    op.drop_table('login_session')
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_event_store_id'))
        batch_op.drop_index(batch_op.f('ix_audit_event_at'))
        batch_op.drop_index(batch_op.f('ix_audit_event_action'))

    op.drop_table('audit_event')
    op.drop_table('user_account')
    op.drop_table('store')
    with op.batch_alter_table('customer', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_customer_phone'))
        batch_op.drop_index(batch_op.f('ix_customer_id_number_hash'))

    op.drop_table('customer')


def _audit_append_only():
    """Make the database refuse to change or delete audit rows."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            """
            CREATE FUNCTION audit_event_append_only() RETURNS trigger AS $$
            BEGIN
                RAISE EXCEPTION 'audit_event is append-only';
            END;
            $$ LANGUAGE plpgsql
            """
        )
        op.execute(
            "CREATE TRIGGER audit_event_no_update BEFORE UPDATE OR DELETE ON audit_event "
            "FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()"
        )
    else:
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_event_no_{verb.lower()} BEFORE {verb} ON audit_event "
                "BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END"
            )


def _drop_audit_append_only():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_update ON audit_event")
        op.execute("DROP FUNCTION IF EXISTS audit_event_append_only()")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_delete")
