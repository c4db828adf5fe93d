// Package odata delivers invoice.ready events to SAP S/4HANA over OData
// V2 as sales orders (API_SALES_ORDER_SRV, entity set A_SalesOrder, a
// deep insert of to_Item with to_PricingElement). SAP's billing document
// service (API_BILLING_DOCUMENT_SRV) is read-only: SAP makes the billing
// document from the order in its billing run (order-related billing).
//
// A delivery first looks for an order whose PurchaseOrderByCustomer is
// our invoice id ($filter), so a retry — after a timeout, a lost answer,
// a restart — answers the order already made instead of making a second
// one; otherwise it fetches a CSRF token (GET of the service root with
// x-csrf-token: Fetch, keeping the session cookies) and POSTs the order
// with it. A 403 answered with x-csrf-token: Required fetches a new
// token once and posts again. Receipt.Ref is the SalesOrder number.
//
// The order: SalesOrderType, SalesOrganization, DistributionChannel,
// OrganizationDivision from the options; SoldToParty = our customer id
// (an SAP customer number, up to 10 characters);
// PurchaseOrderByCustomer = our invoice id (up to 35);
// TransactionCurrency; SalesOrderDate = the invoice's date. One item per
// line (SalesOrderItem 10, 20, …): Material, SalesOrderItemText (the
// description, cut to 40), RequestedQuantity, RequestedQuantityUnit, and
// a price condition with the unit price as ConditionRateValue. A line
// whose quantity × unit price is not exactly its amount goes as 1 ×
// amount, the quantity and price in its text. Our tax is not sent: SAP's
// tax determination prices it.
//
// Options (Config.Options):
//
//	sales_organization    SalesOrganization (required)
//	distribution_channel  DistributionChannel (required)
//	division              OrganizationDivision (required)
//	material              Material of every item (required)
//	material.<line code>  Material of the lines with that code (distance, stop, fuel_surcharge, …)
//	unit                  RequestedQuantityUnit; default EA
//	unit.<line code>      RequestedQuantityUnit of the lines with that code
//	sales_order_type      SalesOrderType; default OR
//	condition_type        the price condition; default PPR0; none sends no price (SAP's condition records price)
//	entity_set            the entity set posted to; default A_SalesOrder (a custom service of the same shape)
//	sap_client            the SAP client, sent as sap-client=<nnn>; default none (the user's default client)
//
// Authentication: HTTP Basic with Username and Password, or, with no
// Username, Password as a bearer token.
//
// Errors steer the outbox: 400 and other 4xx are permanent with SAP's
// error (error.code, error.message.value, innererror.errordetails) kept;
// 401 and 403 are retried (an operator fixes the user or its roles;
// meanwhile the breaker opens); 408, 5xx and connection errors are
// retried; 429 and 503 honour Retry-After. The sample service definition
// names no Repeatability-Request-ID, so none is sent: the $filter lookup
// is the idempotency. The package has no credit lookup: the service
// definitions at hand hold no customer balance or credit limit. It must
// not touch the store or the pipeline, and never puts the password or
// token in an error.
//
// # Reconciliation
//
// LookupInvoices reads the orders of a batch of our invoice ids with
// $filter=PurchaseOrderByCustomer eq '…' or …, $expand=to_Item and a
// $select of the order's number, net value, currency and overall status
// and its items' TaxAmount, in as few GETs as keep each URL within 6000
// characters (a batch of 200 ids of 35 characters takes three), and
// follows SAP's __next links. Total is TotalNetAmount plus the items'
// TaxAmount: A_SalesOrder has no gross amount, and SAP, not the hub,
// determines the order's tax. Ref is the SalesOrder; State open, in
// process or completed (OverallSDProcessStatus A, B, C). ListInvoices
// pages ($top 200, $skip, ordered by SalesOrder) through the orders whose
// PurchaseOrderByCustomer starts with the prefix (startswith) and whose
// CreationDate is in the period; CreationDate is a day, so the period is
// widened to whole days (UTC).
package odata
