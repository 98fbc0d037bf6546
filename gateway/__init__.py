"""MetaStudio gateway: one GraphQL API over Huawei Cloud MetaStudio's job REST APIs."""

__version__ = "0.1.0"
