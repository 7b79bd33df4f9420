-- What the Alafia adapter needs in the openIMIS demo database; safe to run again.
-- Written for this repository (no openIMIS SQL is copied here).

-- The FHIR login looks its user up in core_User; the demo data has the interactive user
-- Admin (tblUsers) but not this row.
insert into "core_User" (id, username, i_user_id, "ValidityFrom")
select gen_random_uuid(), 'Admin', "UserID", now()
from "tblUsers"
where "LoginName" = 'Admin' and "ValidityTo" is null
on conflict (username) do nothing;

-- Alafia's demo products, as copies of the demo "Basic Cover Ultha" (BCUL0001, Region 1,
-- a lump sum per family, twelve months): a Contract names its product by UUID.
create temporary table alafia_product as
select * from "tblProduct" where "ProductCode" = 'BCUL0001' and "ValidityTo" is null;

insert into "tblProduct"
select (p).*
from (
  select jsonb_populate_record(t, jsonb_build_object(
           'ProdID', nextval('"tblProduct_ProdID_seq"'), 'ProdUUID', gen_random_uuid(),
           'ProductCode', code, 'ProductName', name)) as p
  from alafia_product t,
       (values ('FAMILLE', 'Alafia FAMILLE'), ('SCOLAIRE', 'Alafia SCOLAIRE')) as wanted(code, name)
  where not exists (
    select 1 from "tblProduct" where "ProductCode" = wanted.code and "ValidityTo" is null
  )
) copies;

-- A copy must not convert into the demo product at renewal.
update "tblProduct" set "ConversionProdID" = null
where "ProductCode" in ('FAMILLE', 'SCOLAIRE') and "ConversionProdID" is not null;
