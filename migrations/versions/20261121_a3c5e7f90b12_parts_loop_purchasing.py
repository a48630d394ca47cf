"""parts used, par levels, service parts, purchase order numbering and receiving

Revision ID: a3c5e7f90b12
Revises: 09c921a3fd5f
Create Date: 2026-11-21 10:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = 'a3c5e7f90b12'
down_revision: str | None = '09c921a3fd5f'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('inventory_item', sa.Column('par_level', sa.Integer(), nullable=True))
    op.add_column('inventory_item', sa.Column('price_cents', sa.Integer(), nullable=False, server_default='0'))
    op.add_column(
        'purchase_order', sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column(
        'purchase_order_line',
        sa.Column('quantity_received', sa.Integer(), nullable=False, server_default='0'),
    )
    op.create_unique_constraint(
        'purchase_order_line_purchase_order_id_inventory_item_id_key',
        'purchase_order_line',
        ['purchase_order_id', 'inventory_item_id'],
    )
    op.add_column('part_usage', sa.Column('job_line_item_id', sa.Uuid(), nullable=True))
    op.create_foreign_key(
        'part_usage_job_line_item_id_fkey',
        'part_usage',
        'job_line_item',
        ['job_line_item_id'],
        ['id'],
        ondelete='SET NULL',
    )
    op.create_table('service_part',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('company_id', sa.Uuid(), nullable=False),
    sa.Column('service_id', sa.Uuid(), nullable=False),
    sa.Column('inventory_item_id', sa.Uuid(), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['company_id'], ['company.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['inventory_item_id'], ['inventory_item.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['service_id'], ['service.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('service_id', 'inventory_item_id')
    )
    op.create_index(op.f('ix_service_part_company_id'), 'service_part', ['company_id'], unique=False)
    op.create_index(
        op.f('ix_service_part_inventory_item_id'), 'service_part', ['inventory_item_id'], unique=False
    )
    op.create_index(op.f('ix_service_part_service_id'), 'service_part', ['service_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_service_part_service_id'), table_name='service_part')
    op.drop_index(op.f('ix_service_part_inventory_item_id'), table_name='service_part')
    op.drop_index(op.f('ix_service_part_company_id'), table_name='service_part')
    op.drop_table('service_part')
    op.drop_constraint('part_usage_job_line_item_id_fkey', 'part_usage', type_='foreignkey')
    op.drop_column('part_usage', 'job_line_item_id')
    op.drop_constraint(
        'purchase_order_line_purchase_order_id_inventory_item_id_key', 'purchase_order_line', type_='unique'
    )
    op.drop_column('purchase_order_line', 'quantity_received')
    op.drop_column('purchase_order', 'cancelled_at')
    op.drop_column('inventory_item', 'price_cents')
    op.drop_column('inventory_item', 'par_level')
