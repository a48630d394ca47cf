"""QuickBooks Online connection, identity mapping and sync ledger

Revision ID: b4d6f8a01c23
Revises: a3c5e7f90b12
Create Date: 2026-11-21 10:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql


revision: str = 'b4d6f8a01c23'
down_revision: str | None = 'a3c5e7f90b12'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('quickbooks_connection',
    sa.Column('company_id', sa.Uuid(), nullable=False),
    sa.Column('realm_id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('access_token', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('refresh_token', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('access_expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('refresh_expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('connected_by_id', sa.Uuid(), nullable=True),
    sa.Column('connected_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('services_item_id', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('customers_pulled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('payments_pulled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_sync_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('problem', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.ForeignKeyConstraint(['company_id'], ['company.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['connected_by_id'], ['user.id'], ),
    sa.PrimaryKeyConstraint('company_id')
    )
    op.create_table('quickbooks_mapping',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('company_id', sa.Uuid(), nullable=False),
    sa.Column('realm_id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('entity_type', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('entity_id', sa.Uuid(), nullable=False),
    sa.Column('qbo_id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('sync_token', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('synced', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('pushed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('pulled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['company_id'], ['company.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('company_id', 'realm_id', 'entity_type', 'entity_id'),
    sa.UniqueConstraint('company_id', 'realm_id', 'entity_type', 'qbo_id')
    )
    op.create_index(op.f('ix_quickbooks_mapping_company_id'), 'quickbooks_mapping', ['company_id'], unique=False)
    op.create_table('quickbooks_ledger',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('company_id', sa.Uuid(), nullable=False),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('entity_type', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('entity_id', sa.Uuid(), nullable=False),
    sa.Column('direction', sa.Enum('push', 'pull', name='syncdirection', native_enum=False, length=32), nullable=False),
    sa.Column('action', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('status', sa.Enum('ok', 'retrying', 'failed', 'conflict', name='syncstatus', native_enum=False, length=32), nullable=False),
    sa.Column('error', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('qbo_id', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['company_id'], ['company.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key')
    )
    op.create_index(op.f('ix_quickbooks_ledger_company_id'), 'quickbooks_ledger', ['company_id'], unique=False)
    op.create_index(op.f('ix_quickbooks_ledger_entity_id'), 'quickbooks_ledger', ['entity_id'], unique=False)
    op.create_index(op.f('ix_quickbooks_ledger_updated_at'), 'quickbooks_ledger', ['updated_at'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_quickbooks_ledger_updated_at'), table_name='quickbooks_ledger')
    op.drop_index(op.f('ix_quickbooks_ledger_entity_id'), table_name='quickbooks_ledger')
    op.drop_index(op.f('ix_quickbooks_ledger_company_id'), table_name='quickbooks_ledger')
    op.drop_table('quickbooks_ledger')
    op.drop_index(op.f('ix_quickbooks_mapping_company_id'), table_name='quickbooks_mapping')
    op.drop_table('quickbooks_mapping')
    op.drop_table('quickbooks_connection')
