"""Give a fresh trytond 6.0 database what the crossdock tryton connector needs.

Run by .ci/tryton/start with Debian's /usr/bin/python3, once, right after
trytond-admin activated account_invoice and account_credit_limit:

    setup.py CONFIG DATABASE

Through proteus on trytond's own API, the way the modules' scenario tests do
(their helpers in trytond.modules.*.tests.tools cannot be imported outside a
test run, so the few steps are written out here), it creates: the company
(EUR); the minimal English chart of accounts, with codes on its accounts;
fiscal years from last year to next year, with monthly periods and an
invoice sequence INV-<year>-NNNNN; a 10 % sales tax; and a 30-day payment
term that becomes the customers' default.
"""
import datetime
import sys
from decimal import Decimal

from proteus import Model, Wizard, config as pconfig

# Account codes the connector's options can name (the minimal chart has
# names only), by the account type's flag.
CODES = {
    'receivable': '1200',
    'payable': '2000',
    'revenue': '4000',
    'expense': '6000',
}
# Accounts of the minimal chart known by name only.
NAMED_CODES = {
    'Main Cash': '1000',
    'Main Tax': '2400',
}


def create_company():
    Party = Model.get('party.party')
    Currency = Model.get('currency.currency')
    User = Model.get('res.user')

    currency = Currency(
        name='Euro', symbol='€', code='EUR', rounding=Decimal('0.01'))
    currency.save()
    party = Party(name='Crossdock Test Freight')
    party.save()
    wizard = Wizard('company.company.config')
    wizard.execute('company')
    wizard.form.party = party
    wizard.form.currency = currency
    wizard.execute('add')
    pconfig.get_config()._context = User.get_preferences(True, {})
    Company = Model.get('company.company')
    company, = Company.find()
    return company


def create_fiscalyear(company, year):
    FiscalYear = Model.get('account.fiscalyear')
    Sequence = Model.get('ir.sequence')
    SequenceStrict = Model.get('ir.sequence.strict')
    SequenceType = Model.get('ir.sequence.type')

    move_type, = SequenceType.find([('name', '=', "Account Move")], limit=1)
    move_sequence = Sequence(
        name=str(year), sequence_type=move_type, company=company)
    move_sequence.save()
    invoice_type, = SequenceType.find([('name', '=', "Invoice")], limit=1)
    invoice_sequence = SequenceStrict(
        name=str(year), sequence_type=invoice_type, company=company,
        prefix='INV-%s-' % year, padding=5)
    invoice_sequence.save()

    fiscalyear = FiscalYear(name=str(year))
    fiscalyear.start_date = datetime.date(year, 1, 1)
    fiscalyear.end_date = datetime.date(year, 12, 31)
    fiscalyear.company = company
    fiscalyear.post_move_sequence = move_sequence
    sequences, = fiscalyear.invoice_sequences
    sequences.out_invoice_sequence = invoice_sequence
    sequences.in_invoice_sequence = invoice_sequence
    sequences.out_credit_note_sequence = invoice_sequence
    sequences.in_credit_note_sequence = invoice_sequence
    fiscalyear.save()
    fiscalyear.click('create_period')


def create_chart(company):
    AccountTemplate = Model.get('account.account.template')
    Account = Model.get('account.account')
    ModelData = Model.get('ir.model.data')

    data, = ModelData.find([
            ('module', '=', 'account'),
            ('fs_id', '=', 'account_template_root_en'),
            ], limit=1)
    wizard = Wizard('account.create_chart')
    wizard.execute('account')
    wizard.form.account_template = AccountTemplate(data.db_id)
    wizard.form.company = company
    wizard.execute('create_account')

    accounts = {}
    for kind, code in CODES.items():
        account, = Account.find([
                ('type.%s' % kind, '=', True),
                ('company', '=', company.id),
                ], limit=1)
        account.code = code
        account.save()
        accounts[kind] = account
    for name, code in NAMED_CODES.items():
        account, = Account.find([
                ('name', '=', name),
                ('company', '=', company.id),
                ], limit=1)
        account.code = code
        account.save()
        accounts[name] = account

    wizard.form.account_receivable = accounts['receivable']
    wizard.form.account_payable = accounts['payable']
    wizard.execute('create_properties')
    return accounts


def create_tax(company, account):
    Tax = Model.get('account.tax')
    tax = Tax(
        name='VAT 10%', description='VAT 10%', type='percentage',
        rate=Decimal('.10'), company=company,
        invoice_account=account, credit_note_account=account)
    tax.save()


def create_payment_term():
    PaymentTerm = Model.get('account.invoice.payment_term')
    Configuration = Model.get('account.configuration')

    term = PaymentTerm(name='Net 30')
    line = term.lines.new(type='remainder')
    line.relativedeltas.new(days=30)
    term.save()
    configuration = Configuration(1)
    configuration.default_customer_payment_term = term
    configuration.save()


def main(conf, database):
    pconfig.set_trytond(database=database, config_file=conf)
    company = create_company()
    this_year = datetime.date.today().year
    for year in (this_year - 1, this_year, this_year + 1):
        create_fiscalyear(company, year)
    accounts = create_chart(company)
    create_tax(company, accounts['Main Tax'])
    create_payment_term()


if __name__ == '__main__':
    if len(sys.argv) != 3:
        sys.exit('usage: setup.py CONFIG DATABASE')
    main(sys.argv[1], sys.argv[2])
