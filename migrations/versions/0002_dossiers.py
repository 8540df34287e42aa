"""one-stop domain: units, procedures, dossiers, documents, sequences

Revision ID: 0002
Revises: 0001
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table('dossier_sequences',
    sa.Column('agency_code', sa.String(length=32), nullable=False),
    sa.Column('day', sa.String(length=6), nullable=False),
    sa.Column('last_value', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('agency_code', 'day')
    )
    op.create_table('procedures',
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('short_name', sa.String(length=120), nullable=True),
    sa.Column('sector', sa.String(length=255), nullable=False),
    sa.Column('level', sa.String(length=16), nullable=False),
    sa.Column('competent_unit', sa.String(length=32), nullable=True),
    sa.Column('legal_days', sa.Numeric(precision=6, scale=2, asdecimal=False), nullable=False),
    sa.Column('legal_time_unit', sa.String(length=16), nullable=False),
    sa.Column('fees', JSON, nullable=False),
    sa.Column('documents', JSON, nullable=False),
    sa.Column('result_types', JSON, nullable=False),
    sa.Column('diagram_key', sa.String(length=255), nullable=False),
    sa.Column('online_level', sa.String(length=16), nullable=False),
    sa.Column('boundary_free', sa.Boolean(), nullable=False),
    sa.Column('moh_centralized', sa.Boolean(), nullable=False),
    sa.Column('moh_cutover', sa.Date(), nullable=True),
    sa.Column('sample', sa.Boolean(), nullable=False),
    sa.Column('sources', JSON, nullable=False),
    sa.Column('uncertain', JSON, nullable=False),
    sa.Column('search_text', sa.Text(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('code')
    )
    op.create_table('units',
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('type', sa.String(length=16), nullable=False),
    sa.Column('parent_code', sa.String(length=32), nullable=True),
    sa.Column('admin_code', sa.String(length=16), nullable=True),
    sa.Column('search_text', sa.String(length=500), nullable=False),
    sa.Column('reception', sa.Boolean(), nullable=False),
    sa.Column('sample', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('code')
    )
    op.create_table('dossiers',
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('procedure_code', sa.String(length=32), nullable=False),
    sa.Column('process_instance_id', sa.String(length=36), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('applicant_type', sa.String(length=16), nullable=False),
    sa.Column('applicant_id_number', sa.String(length=32), nullable=False),
    sa.Column('applicant', JSON, nullable=False),
    sa.Column('receiving_unit', sa.String(length=32), nullable=False),
    sa.Column('competent_unit', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('status_code', sa.Integer(), nullable=False),
    sa.Column('stage', sa.String(length=32), nullable=False),
    sa.Column('current_step', sa.String(length=255), nullable=True),
    sa.Column('moh_route', sa.Boolean(), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('clock_started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('appointment_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('returned_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('stopped_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('supplement_count', sa.Integer(), nullable=False),
    sa.Column('supplement_requested_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('supplement_request', JSON, nullable=True),
    sa.Column('extension_count', sa.Integer(), nullable=False),
    sa.Column('extension', JSON, nullable=True),
    sa.Column('stop_reason', sa.Text(), nullable=True),
    sa.Column('fee_total', sa.Integer(), nullable=False),
    sa.Column('fee_paid', sa.Boolean(), nullable=False),
    sa.Column('payment_channel', sa.String(length=16), nullable=True),
    sa.Column('result', JSON, nullable=True),
    sa.Column('created_by', sa.String(length=255), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['competent_unit'], ['units.code'], ),
    sa.ForeignKeyConstraint(['procedure_code'], ['procedures.code'], ),
    sa.ForeignKeyConstraint(['receiving_unit'], ['units.code'], ),
    sa.PrimaryKeyConstraint('code'),
    sa.UniqueConstraint('process_instance_id')
    )
    with op.batch_alter_table('dossiers', schema=None) as batch_op:
        batch_op.create_index('ix_dossiers_applicant', ['applicant_id_number'], unique=False)
        batch_op.create_index('ix_dossiers_competent_stage', ['competent_unit', 'stage', 'appointment_at'])
        batch_op.create_index('ix_dossiers_receiving_stage', ['receiving_unit', 'stage', 'appointment_at'])
        batch_op.create_index('ix_dossiers_status', ['status'], unique=False)

    op.create_table('dossier_documents',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('dossier_code', sa.String(length=64), nullable=False),
    sa.Column('applicant_id_number', sa.String(length=32), nullable=False),
    sa.Column('document_code', sa.String(length=64), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('originals', sa.Integer(), nullable=False),
    sa.Column('copies', sa.Integer(), nullable=False),
    sa.Column('digitised', sa.Boolean(), nullable=False),
    sa.Column('reused', sa.Boolean(), nullable=False),
    sa.Column('from_national_store', sa.Boolean(), nullable=False),
    sa.Column('reused_from', sa.String(length=64), nullable=True),
    sa.Column('file_sha256', sa.String(length=64), nullable=True),
    sa.Column('file_name', sa.String(length=255), nullable=True),
    sa.Column('content_type', sa.String(length=100), nullable=True),
    sa.Column('size_bytes', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['dossier_code'], ['dossiers.code'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('dossier_documents', schema=None) as batch_op:
        batch_op.create_index('ix_dossier_documents_dossier', ['dossier_code'], unique=False)
        batch_op.create_index('ix_dossier_documents_reuse', ['applicant_id_number', 'document_code'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('dossier_documents', schema=None) as batch_op:
        batch_op.drop_index('ix_dossier_documents_reuse')
        batch_op.drop_index('ix_dossier_documents_dossier')

    op.drop_table('dossier_documents')
    with op.batch_alter_table('dossiers', schema=None) as batch_op:
        batch_op.drop_index('ix_dossiers_status')
        batch_op.drop_index('ix_dossiers_receiving_stage')
        batch_op.drop_index('ix_dossiers_competent_stage')
        batch_op.drop_index('ix_dossiers_applicant')

    op.drop_table('dossiers')
    op.drop_table('units')
    op.drop_table('procedures')
    op.drop_table('dossier_sequences')
