-- The seeded facts the integration suite configures the adapter with, as one JSON object.
select json_build_object(
  'officer', (select "OfficerUUID" from "tblOfficer"
              where "Code" = 'E00001' and "ValidityTo" is null),
  'village', (select "LocationUUID" from "tblLocations"
              where "LocationCode" = 'R1D2M1V1' and "ValidityTo" is null),
  'other_village', (select "LocationUUID" from "tblLocations"
                    where "LocationCode" = 'R1D2M1V2' and "ValidityTo" is null),
  'products', (select json_object_agg("ProductCode", "ProdUUID") from "tblProduct"
               where "ProductCode" in ('FAMILLE', 'SCOLAIRE') and "ValidityTo" is null),
  'username', 'Admin',
  'password', 'admin123'
);
